-- LeadLex API gateway: API keys and webhooks.
-- Works unchanged on Supabase (`supabase db push`) and on plain Postgres
-- (`gateway migrate`). Row-level security is enabled with no policies: PostgREST's
-- public roles (anon, authenticated) see nothing, while the service role and the
-- gateway's direct connection, which bypass RLS, keep working.

create table if not exists api_keys (
    id            uuid primary key,
    workspace_id  uuid not null,
    name          text not null default '',
    key_prefix    text not null,
    key_hash      text not null,
    permissions   text[] not null,
    plan          text not null,
    tier          text not null,
    expires_at    timestamptz,
    revoked_at    timestamptz,
    created_at    timestamptz not null default now(),
    constraint api_keys_key_hash_key unique (key_hash),
    constraint api_keys_key_hash_format check (key_hash ~ '^[0-9a-f]{64}$'),
    constraint api_keys_plan_check check (plan in ('starter', 'pro', 'org')),
    constraint api_keys_tier_check check (tier in ('standard', 'high', 'unmetered'))
);

create index if not exists api_keys_workspace_created_idx
    on api_keys (workspace_id, created_at desc, id desc);

alter table api_keys enable row level security;

create table if not exists webhooks (
    id                    uuid primary key,
    workspace_id          uuid not null,
    url                   text not null,
    url_key               text not null,
    events                text[] not null,
    description           text not null default '',
    active                boolean not null default true,
    secret_ciphertext     text not null,
    created_at            timestamptz not null,
    updated_at            timestamptz not null,
    last_delivery_status  text,
    last_delivery_at      timestamptz,
    -- One webhook per normalised URL per workspace: this index, not the
    -- application, is what makes concurrent creates of one URL give one winner.
    constraint webhooks_workspace_url_key unique (workspace_id, url_key),
    constraint webhooks_url_length check (char_length(url) <= 2048),
    constraint webhooks_description_length check (char_length(description) <= 200),
    constraint webhooks_events_nonempty check (cardinality(events) > 0)
);

create index if not exists webhooks_workspace_created_idx
    on webhooks (workspace_id, created_at desc, id desc);

alter table webhooks enable row level security;

-- gateway_create_webhook inserts a webhook unless the workspace is at its limit.
-- The per-workspace advisory lock serialises creates within one workspace, so the
-- count and the insert cannot interleave; the unique constraint still decides
-- duplicates (SQLSTATE 23505). Over the limit it raises SQLSTATE LL001.
-- Both the postgres store (SQL) and the supabase store (PostgREST /rpc) call it,
-- so the rule lives in one place.
create or replace function gateway_create_webhook(
    p_id uuid,
    p_workspace_id uuid,
    p_url text,
    p_url_key text,
    p_events text[],
    p_description text,
    p_active boolean,
    p_secret_ciphertext text,
    p_created_at timestamptz,
    p_limit integer
) returns setof webhooks
language plpgsql
set search_path = public, pg_temp
as $$
begin
    perform pg_advisory_xact_lock(hashtextextended('leadlex.webhooks:' || p_workspace_id::text, 0));
    if (select count(*) from webhooks where workspace_id = p_workspace_id) >= p_limit then
        raise exception 'webhook_limit_reached' using errcode = 'LL001';
    end if;
    return query
        insert into webhooks (id, workspace_id, url, url_key, events, description, active,
                              secret_ciphertext, created_at, updated_at)
        values (p_id, p_workspace_id, p_url, p_url_key, p_events, p_description, p_active,
                p_secret_ciphertext, p_created_at, p_created_at)
        returning *;
end;
$$;

-- Only the service role (and the table owner) may call it. The Supabase roles do
-- not exist on plain Postgres, so they are revoked only where present.
revoke execute on function gateway_create_webhook(uuid, uuid, text, text, text[], text, boolean, text, timestamptz, integer) from public;
do $$
declare r text;
begin
    foreach r in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = r) then
            execute format('revoke execute on function gateway_create_webhook(uuid, uuid, text, text, text[], text, boolean, text, timestamptz, integer) from %I', r);
        end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function gateway_create_webhook(uuid, uuid, text, text, text[], text, boolean, text, timestamptz, integer) to service_role;
    end if;
end;
$$;
