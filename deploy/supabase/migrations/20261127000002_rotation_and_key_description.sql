-- Issue 3: secret rotation for webhooks, descriptions for API keys.
-- Secret rotation: the previous secret stays (encrypted, like the current one)
-- until it expires, so that deliveries are signed with both during the overlap.

alter table webhooks add column if not exists previous_secret_ciphertext text;
alter table webhooks add column if not exists previous_secret_expires_at timestamptz;

-- gateway_rotate_webhook_secret swaps the secrets in one statement, so two
-- concurrent rotations cannot lose a secret between a read and a write. Both
-- stores call it (PostgREST cannot express "set a = b" in a PATCH).
create or replace function gateway_rotate_webhook_secret(
    p_workspace_id uuid,
    p_id uuid,
    p_secret_ciphertext text,
    p_previous_expires_at timestamptz,
    p_now timestamptz
) returns setof webhooks
language sql
set search_path = public, pg_temp
as $$
    update webhooks
       set previous_secret_ciphertext = secret_ciphertext,
           previous_secret_expires_at = p_previous_expires_at,
           secret_ciphertext = p_secret_ciphertext,
           updated_at = p_now
     where workspace_id = p_workspace_id and id = p_id
    returning *;
$$;

revoke execute on function gateway_rotate_webhook_secret(uuid, uuid, text, timestamptz, timestamptz) from public;
do $$
declare r text;
begin
    foreach r in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = r) then
            execute format('revoke execute on function gateway_rotate_webhook_secret(uuid, uuid, text, timestamptz, timestamptz) from %I', r);
        end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function gateway_rotate_webhook_secret(uuid, uuid, text, timestamptz, timestamptz) to service_role;
    end if;
end;
$$;

-- API keys made over the API carry a description.
alter table api_keys add column if not exists description text not null default '';
alter table api_keys drop constraint if exists api_keys_description_length;
alter table api_keys add constraint api_keys_description_length check (char_length(description) <= 500);
