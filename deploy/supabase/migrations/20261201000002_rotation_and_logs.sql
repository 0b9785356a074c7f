-- Issue 8: secret rotations cannot hand out dead secrets, delivery logs list
-- attempts by their own outcome.

-- gateway_rotate_webhook_secret_if_current rotates only
--   * if the current secret is still p_expected_ciphertext, the one the
--     caller read before sealing the new secret (two rotations that read the
--     same secret: the row lock lets one apply), and
--   * if no earlier rotation's overlap is still running (the previous secret
--     has expired), unless this rotation ends every overlap now
--     (p_previous_expires_at <= p_now, expire_previous_in_seconds 0).
-- Otherwise it raises SQLSTATE LL002, which the gateway answers with 409
-- rotation_in_progress. With two secret slots this is what keeps every
-- secret a rotation returned, and the one before it, valid for the overlap
-- its caller asked for. An unknown id returns no row (404).
create or replace function gateway_rotate_webhook_secret_if_current(
    p_workspace_id uuid,
    p_id uuid,
    p_expected_ciphertext text,
    p_secret_ciphertext text,
    p_previous_expires_at timestamptz,
    p_now timestamptz
) returns setof webhooks
language plpgsql
set search_path = public, pg_temp
as $$
begin
    return query
        update webhooks
           set previous_secret_ciphertext = secret_ciphertext,
               previous_secret_expires_at = p_previous_expires_at,
               secret_ciphertext = p_secret_ciphertext,
               updated_at = p_now
         where workspace_id = p_workspace_id and id = p_id
           and secret_ciphertext = p_expected_ciphertext
           and (previous_secret_expires_at is null
                or previous_secret_expires_at <= p_now
                or p_previous_expires_at <= p_now)
        returning *;
    if not found and exists (select 1 from webhooks where workspace_id = p_workspace_id and id = p_id) then
        raise exception 'rotation_in_progress' using errcode = 'LL002';
    end if;
end;
$$;

revoke execute on function gateway_rotate_webhook_secret_if_current(uuid, uuid, text, text, timestamptz, timestamptz) from public;
do $$
declare r text;
begin
    foreach r in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = r) then
            execute format('revoke execute on function gateway_rotate_webhook_secret_if_current(uuid, uuid, text, text, timestamptz, timestamptz) from %I', r);
        end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant execute on function gateway_rotate_webhook_secret_if_current(uuid, uuid, text, text, timestamptz, timestamptz) to service_role;
    end if;
end;
$$;
