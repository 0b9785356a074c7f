-- Event delivery: published events, one delivery per event and webhook, and
-- the log of every attempt (contract §4 logs, §6 delivery).
--
-- Every rule that decides what is sent, when, and what an outcome changes
-- lives in the functions below, which the postgres store (SQL) and the
-- supabase store (PostgREST /rpc) both call. The functions take every time
-- they use as an argument and never call now(), so a store's clock is the
-- only clock and the in-memory store can mirror them exactly. Those that
-- return rows return jsonb (deliveries as to_jsonb of the row, without the
-- lease, which stays inside the database), the same document over pgx and
-- over PostgREST; they run with TimeZone UTC, so its timestamps read
-- "...+00:00" whatever the session's zone.
--
-- Row-level security is enabled with no policies on every new table, as on
-- the others: PostgREST's public roles see nothing; the service role and the
-- gateway's own connection bypass RLS, which is why the functions filter by
-- workspace themselves wherever the caller has one (a claim comes from the
-- queue with a delivery id only).

-- Deliveries and attempts reference a webhook together with its workspace, so
-- that a row can never point at another workspace's webhook. A non-partial
-- unique index is enough for a foreign key to reference.
create unique index if not exists webhooks_workspace_id_key on webhooks (workspace_id, id);

-- failing_since: the first failed attempt with no success after it (null when
-- the last attempt succeeded or none failed). disabled_reason: why the
-- auto-disable rule set the webhook inactive. Both are cleared when the
-- webhook is made active again (trigger below).
alter table webhooks add column if not exists failing_since timestamptz;
alter table webhooks add column if not exists disabled_reason text;

create table if not exists events (
    id            uuid not null,
    workspace_id  uuid not null,
    type          text not null,
    -- The payload exactly as published (text, not jsonb, which would reorder
    -- keys and drop whitespace), so that every attempt sends the same bytes.
    data          text not null,
    created_at    timestamptz not null,
    -- Event ids are chosen by publishers and are unique per workspace: the
    -- same id in two workspaces is two events.
    primary key (workspace_id, id)
);

alter table events enable row level security;

create table if not exists deliveries (
    id               uuid primary key,
    workspace_id     uuid not null,
    webhook_id       uuid not null,
    event_id         uuid not null,
    event_type       text not null,
    -- A one-shot delivery made by POST /v1/webhooks/{id}/test.
    test             boolean not null default false,
    status           text not null,
    -- Claims so far; the attempt number of the claim that holds the lease.
    attempts         integer not null default 0,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    constraint deliveries_webhook_fkey foreign key (workspace_id, webhook_id)
        references webhooks (workspace_id, id) on delete cascade,
    constraint deliveries_event_fkey foreign key (workspace_id, event_id)
        references events (workspace_id, id) on delete cascade,
    constraint deliveries_status_check check (status in ('pending', 'success', 'failed', 'cancelled')),
    constraint deliveries_attempts_check check (attempts >= 0),
    -- Exactly the pending deliveries are scheduled, and only they can be leased.
    constraint deliveries_schedule_check check ((status = 'pending') = (next_attempt_at is not null)),
    constraint deliveries_lease_check check (status = 'pending' or lease_until is null)
);

-- The sweeper's scan (DueDeliveries) and nothing else: finished deliveries,
-- the vast majority, are not in it.
create index if not exists deliveries_due_idx
    on deliveries (next_attempt_at, id) where status = 'pending';
-- Cascades from webhooks and events, and republishing an event.
create index if not exists deliveries_webhook_idx on deliveries (workspace_id, webhook_id);
create index if not exists deliveries_event_idx on deliveries (workspace_id, event_id);

alter table deliveries enable row level security;

create table if not exists delivery_attempts (
    id                    uuid primary key,
    delivery_id           uuid not null references deliveries (id) on delete cascade,
    webhook_id            uuid not null,
    workspace_id          uuid not null,
    event_type            text not null,
    attempt               integer not null,
    -- success, failed (for good) or pending (another try is scheduled).
    status                text not null,
    -- Null when no HTTP answer came (timeout, refused, DNS, TLS, blocked).
    response_status_code  integer,
    response_body         text not null default '',
    duration_ms           integer not null,
    error                 text,
    delivered_at          timestamptz not null,
    constraint delivery_attempts_webhook_fkey foreign key (workspace_id, webhook_id)
        references webhooks (workspace_id, id) on delete cascade,
    constraint delivery_attempts_status_check check (status in ('success', 'failed', 'pending')),
    constraint delivery_attempts_attempt_check check (attempt >= 1),
    constraint delivery_attempts_response_status_check check (response_status_code between 100 and 599),
    -- The contract's "first 2 KB", in bytes.
    constraint delivery_attempts_response_body_length check (octet_length(response_body) <= 2048),
    constraint delivery_attempts_duration_check check (duration_ms >= 0),
    constraint delivery_attempts_error_check check (error in (
        'timeout', 'connection_refused', 'dns_failure', 'tls_error', 'redirect', 'http_error', 'blocked_address')),
    -- The logs show an error class exactly for the attempts that failed.
    constraint delivery_attempts_error_status_check check ((status = 'success') = (error is null))
);

-- GET /v1/webhooks/{id}/logs, newest first, and the cascade from webhooks.
create index if not exists delivery_attempts_webhook_idx
    on delivery_attempts (webhook_id, delivered_at desc, id desc);
-- The cascade from deliveries.
create index if not exists delivery_attempts_delivery_idx on delivery_attempts (delivery_id);
-- The 30-day retention delete. Rows arrive roughly in delivered_at order, so a
-- BRIN index finds the old ones at a fraction of a B-tree's size and upkeep.
create index if not exists delivery_attempts_delivered_brin
    on delivery_attempts using brin (delivered_at);

alter table delivery_attempts enable row level security;

-- gateway_publish_event stores an event and, when it is new, one pending
-- delivery due at p_created_at for every active webhook of the workspace
-- subscribed to its type. It returns {"created": bool, "deliveries": [...]}
-- (by id); for an event id the workspace already has, it writes nothing and
-- returns that event's deliveries with created false. Two concurrent
-- publishes of one id are serialised by the primary key: the second waits
-- for the first, then finds its deliveries.
create or replace function gateway_publish_event(
    p_id uuid,
    p_workspace_id uuid,
    p_type text,
    p_data text,
    p_created_at timestamptz
) returns jsonb
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_created boolean;
begin
    insert into events (id, workspace_id, type, data, created_at)
    values (p_id, p_workspace_id, p_type, p_data, p_created_at)
    on conflict (workspace_id, id) do nothing;
    v_created := found;
    if v_created then
        insert into deliveries (id, workspace_id, webhook_id, event_id, event_type, test, status,
                                attempts, next_attempt_at, created_at, updated_at)
        select gen_random_uuid(), w.workspace_id, w.id, p_id, p_type, false, 'pending',
               0, p_created_at, p_created_at, p_created_at
          from webhooks w
         where w.workspace_id = p_workspace_id
           and w.active
           and p_type = any (w.events);
    end if;
    return jsonb_build_object(
        'created', v_created,
        'deliveries', coalesce(
            (select jsonb_agg(to_jsonb(d) - 'lease_until' order by d.id)
               from deliveries d
              where d.workspace_id = p_workspace_id and d.event_id = p_id),
            '[]'::jsonb));
end;
$$;

-- gateway_claim_delivery leases a delivery that is pending, due at p_now and
-- not leased (a lease ending before p_now has expired) for p_lease_ms
-- milliseconds, counts the attempt, and returns
-- {"delivery": ..., "event": ..., "target": ...} with what a worker needs to
-- send it. It is one UPDATE, so of concurrent claims exactly one wins; the
-- others get null. When the webhook is inactive and the delivery is not a
-- test, the delivery is cancelled instead (attempts unchanged) and the answer
-- is null too.
create or replace function gateway_claim_delivery(
    p_id uuid,
    p_now timestamptz,
    p_lease_ms bigint
) returns jsonb
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_claim jsonb;
begin
    if p_lease_ms is null or p_lease_ms <= 0 then
        raise exception 'the lease must be at least one millisecond' using errcode = '22023';
    end if;
    update deliveries d
       set attempts        = case when w.active or d.test then d.attempts + 1 else d.attempts end,
           status          = case when w.active or d.test then d.status else 'cancelled' end,
           next_attempt_at = case when w.active or d.test then d.next_attempt_at end,
           lease_until     = case when w.active or d.test then p_now + p_lease_ms * interval '1 millisecond' end,
           updated_at      = p_now
      from webhooks w, events e
     where d.id = p_id
       and d.status = 'pending'
       and d.next_attempt_at <= p_now
       and (d.lease_until is null or d.lease_until < p_now)
       and w.workspace_id = d.workspace_id and w.id = d.webhook_id
       and e.workspace_id = d.workspace_id and e.id = d.event_id
    returning case when d.status = 'pending' then jsonb_build_object(
        'delivery', to_jsonb(d) - 'lease_until',
        'event', jsonb_build_object(
            'id', e.id, 'workspace_id', e.workspace_id, 'type', e.type,
            'data', e.data, 'created_at', e.created_at),
        'target', jsonb_build_object(
            'url', w.url, 'active', w.active,
            'secret_ciphertext', w.secret_ciphertext,
            'previous_secret_ciphertext', w.previous_secret_ciphertext,
            'previous_secret_expires_at', w.previous_secret_expires_at)) end
      into v_claim;
    return v_claim;
end;
$$;

-- gateway_record_attempt stores one attempt and applies its outcome, in one
-- transaction: the delivery becomes pending at p_next_attempt_at (p_status
-- pending) or ends with p_status (success or failed, p_next_attempt_at null),
-- and its lease is released; the webhook's last_delivery_status/at follow the
-- newest attempt; failing_since is cleared by a success and set by the first
-- failure after one; and a failure when the webhook has failed since at least
-- p_disable_after_ms ago (if that is positive) sets it inactive with a
-- disabled_reason.
--
-- It returns 'recorded'; 'not_found' (nothing written) when the workspace's
-- webhook has no such delivery; or 'stale' when the claim that made attempt
-- p_attempt no longer holds the delivery: it is not pending, or it was
-- claimed again since (the lease expired and another worker took it), or this
-- claim's outcome was recorded already (the lease is released). A stale
-- attempt is logged, since it was made, but the delivery and the webhook are
-- left alone. The event type is the delivery's. A null p_id means a new id.
create or replace function gateway_record_attempt(
    p_id uuid,
    p_workspace_id uuid,
    p_webhook_id uuid,
    p_delivery_id uuid,
    p_attempt integer,
    p_status text,
    p_response_status_code integer,
    p_response_body text,
    p_duration_ms integer,
    p_error text,
    p_delivered_at timestamptz,
    p_next_attempt_at timestamptz,
    p_disable_after_ms bigint
) returns text
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_delivery deliveries;
    v_failing_since timestamptz;
    v_active boolean;
begin
    if (p_next_attempt_at is not null) <> (p_status = 'pending') then
        raise exception 'an attempt with a next attempt must be pending, and only one'
            using errcode = '22023';
    end if;
    -- The webhook first, then the delivery: the order in which deleting a
    -- webhook locks them, so the two cannot deadlock.
    perform 1 from webhooks
     where workspace_id = p_workspace_id and id = p_webhook_id
       for no key update;
    select * into v_delivery from deliveries
     where id = p_delivery_id and workspace_id = p_workspace_id and webhook_id = p_webhook_id
       for update;
    if not found then
        return 'not_found';
    end if;

    insert into delivery_attempts (id, delivery_id, webhook_id, workspace_id, event_type, attempt,
                                   status, response_status_code, response_body, duration_ms,
                                   error, delivered_at)
    values (coalesce(p_id, gen_random_uuid()), p_delivery_id, p_webhook_id, p_workspace_id,
            v_delivery.event_type, p_attempt, p_status, p_response_status_code,
            coalesce(p_response_body, ''), p_duration_ms, p_error, p_delivered_at);

    if v_delivery.status <> 'pending' or v_delivery.attempts <> p_attempt
       or v_delivery.lease_until is null then
        return 'stale';
    end if;

    update deliveries
       set status = p_status,
           next_attempt_at = p_next_attempt_at,
           lease_until = null,
           updated_at = p_delivered_at
     where id = p_delivery_id;

    update webhooks
       set last_delivery_status = case
               when last_delivery_at is null or last_delivery_at <= p_delivered_at then p_status
               else last_delivery_status end,
           last_delivery_at = greatest(last_delivery_at, p_delivered_at),
           failing_since = case
               when p_status = 'success' then null
               else coalesce(failing_since, p_delivered_at) end
     where workspace_id = p_workspace_id and id = p_webhook_id
    returning failing_since, active into v_failing_since, v_active;

    if p_status <> 'success' and p_disable_after_ms > 0 and v_active
       and v_failing_since <= p_delivered_at - p_disable_after_ms * interval '1 millisecond' then
        update webhooks
           set active = false,
               disabled_reason = 'deliveries have failed since '
                   || to_char(v_failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
               updated_at = greatest(updated_at, p_delivered_at)
         where workspace_id = p_workspace_id and id = p_webhook_id;
    end if;
    return 'recorded';
end;
$$;

-- gateway_create_test_delivery stores an event and a one-shot test delivery
-- of it, due at p_created_at, to one webhook of the workspace, whatever the
-- webhook's subscriptions and active flag, and returns the delivery; null
-- (nothing written) when the workspace has no such webhook. The webhook is
-- locked against deletion until the transaction ends.
create or replace function gateway_create_test_delivery(
    p_event_id uuid,
    p_workspace_id uuid,
    p_type text,
    p_data text,
    p_created_at timestamptz,
    p_webhook_id uuid
) returns jsonb
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_delivery deliveries;
begin
    perform 1 from webhooks
     where workspace_id = p_workspace_id and id = p_webhook_id
       for key share;
    if not found then
        return null;
    end if;
    insert into events (id, workspace_id, type, data, created_at)
    values (p_event_id, p_workspace_id, p_type, p_data, p_created_at);
    insert into deliveries (id, workspace_id, webhook_id, event_id, event_type, test, status,
                            attempts, next_attempt_at, created_at, updated_at)
    values (gen_random_uuid(), p_workspace_id, p_webhook_id, p_event_id, p_type, true, 'pending',
            0, p_created_at, p_created_at, p_created_at)
    returning * into v_delivery;
    return to_jsonb(v_delivery) - 'lease_until';
end;
$$;

-- gateway_retry_delivery makes a delivery of the workspace's webhook pending
-- and due at p_now, whatever its status, and returns it; null when there is
-- none. Attempts keep counting. A lease still held stays: the worker holding
-- it finishes first.
create or replace function gateway_retry_delivery(
    p_workspace_id uuid,
    p_webhook_id uuid,
    p_id uuid,
    p_now timestamptz
) returns jsonb
language sql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
    update deliveries d
       set status = 'pending',
           next_attempt_at = p_now,
           updated_at = p_now
     where d.id = p_id and d.workspace_id = p_workspace_id and d.webhook_id = p_webhook_id
    returning to_jsonb(d) - 'lease_until';
$$;

-- A webhook made active again starts with a clean slate: without this, its
-- old failing_since would disable it again at the first failure.
create or replace function gateway_webhooks_reactivated() returns trigger
language plpgsql
set search_path = public, pg_temp
as $$
begin
    new.failing_since := null;
    new.disabled_reason := null;
    return new;
end;
$$;

create or replace trigger webhooks_reactivated
    before update of active on webhooks
    for each row
    when (new.active and not old.active)
    execute function gateway_webhooks_reactivated();

-- Only the service role (and the owner) may call the functions. The Supabase
-- roles do not exist on plain Postgres, so they are handled only where
-- present. (The trigger function cannot be called directly at all.)
do $$
declare
    f regprocedure;
    r text;
begin
    foreach f in array array[
        'gateway_publish_event(uuid, uuid, text, text, timestamptz)',
        'gateway_claim_delivery(uuid, timestamptz, bigint)',
        'gateway_record_attempt(uuid, uuid, uuid, uuid, integer, text, integer, text, integer, text, timestamptz, timestamptz, bigint)',
        'gateway_create_test_delivery(uuid, uuid, text, text, timestamptz, uuid)',
        'gateway_retry_delivery(uuid, uuid, uuid, timestamptz)'
    ]::regprocedure[] loop
        execute format('revoke execute on function %s from public', f);
        foreach r in array array['anon', 'authenticated'] loop
            if exists (select 1 from pg_roles where rolname = r) then
                execute format('revoke execute on function %s from %I', f, r);
            end if;
        end loop;
        if exists (select 1 from pg_roles where rolname = 'service_role') then
            execute format('grant execute on function %s to service_role', f);
        end if;
    end loop;
end;
$$;
