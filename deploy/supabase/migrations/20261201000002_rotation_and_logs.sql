-- Issue 8: secret rotations cannot hand out dead secrets, delivery logs list
-- attempts by their own outcome.

-- gateway_rotate_webhook_secret_if_current rotates only
--   * if the current secret is still p_expected_ciphertext, the one the
--     caller read before sealing the new secret (two rotations that read the
--     same secret: the row lock lets one apply), and
--   * if no earlier rotation's overlap is still running (the previous secret
--     has expired), unless this rotation ends every overlap now
--     (p_previous_expires_at <= p_now, expire_previous_in_seconds 0).
-- Otherwise it raises SQLSTATE LL004, which the gateway answers with 409
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
        raise exception 'rotation_in_progress' using errcode = 'LL004';
    end if;
end;
$$;


-- Delivery logs (contract §4.1): an attempt's status is its own outcome,
-- success or failed. Attempts recorded as "pending" (failed, another try
-- scheduled) are failed attempts; the waiting delivery is listed on its own.
update delivery_attempts set status = 'failed' where status = 'pending';
alter table delivery_attempts drop constraint if exists delivery_attempts_status_check;
alter table delivery_attempts add constraint delivery_attempts_status_check check (status in ('success', 'failed'));

-- gateway_record_attempt, as before, except that the attempt keeps its own
-- outcome (failed) when another try is scheduled; the delivery (and the
-- webhook's last_delivery_status) is pending then.
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
    v_attempt_status text;
    v_delivery_status text;
begin
    -- p_status is the attempt's outcome (success or failed); a failed
    -- attempt with p_next_attempt_at leaves the delivery pending. (pending
    -- is still read as "failed, retried", as workers before this migration
    -- send it.)
    if p_status = 'pending' and p_next_attempt_at is null
       or p_status = 'success' and p_next_attempt_at is not null
       or p_status not in ('success', 'failed', 'pending') then
        raise exception 'a next attempt comes only after a failed attempt'
            using errcode = '22023';
    end if;
    v_attempt_status := case when p_status = 'pending' then 'failed' else p_status end;
    v_delivery_status := case when p_next_attempt_at is not null then 'pending' else v_attempt_status end;
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
            v_delivery.event_type, p_attempt, v_attempt_status, p_response_status_code,
            coalesce(p_response_body, ''), p_duration_ms, p_error, p_delivered_at);

    if v_delivery.status <> 'pending' or v_delivery.attempts <> p_attempt
       or v_delivery.lease_until is null then
        return 'stale';
    end if;

    update deliveries
       set status = v_delivery_status,
           next_attempt_at = p_next_attempt_at,
           lease_until = null,
           updated_at = p_delivered_at
     where id = p_delivery_id;

    update webhooks
       set last_delivery_status = case
               when last_delivery_at is null or last_delivery_at <= p_delivered_at then v_delivery_status
               else last_delivery_status end,
           last_delivery_at = greatest(last_delivery_at, p_delivered_at),
           failing_since = case
               when v_attempt_status = 'success' then null
               else coalesce(failing_since, p_delivered_at) end
     where workspace_id = p_workspace_id and id = p_webhook_id
    returning failing_since, active into v_failing_since, v_active;

    if v_attempt_status <> 'success' and p_disable_after_ms > 0 and v_active
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

-- gateway_list_delivery_log is GET /v1/webhooks/{id}/logs for both stores:
-- null when the workspace has no such webhook, else
-- {"total": n, "entries": [...]}. Every delivery of the webhook waiting for
-- its next attempt is one entry on top (status pending, the coming attempt:
-- the one in flight while leased, else the next; its next_attempt_at; no
-- response), newest delivery first; then every attempt, newest first, ties
-- by id descending. p_status ('' for all) filters on the entries' status, so
-- total and pages always count the same entries.
create or replace function gateway_list_delivery_log(
    p_workspace_id uuid,
    p_webhook_id uuid,
    p_status text,
    p_offset integer,
    p_limit integer
) returns jsonb
language plpgsql
stable
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_total bigint;
    v_entries jsonb;
begin
    perform 1 from webhooks where workspace_id = p_workspace_id and id = p_webhook_id;
    if not found then
        return null;
    end if;
    with entries as (
        select 0 as grp, d.created_at as ts, d.id as sort_id,
               jsonb_build_object(
                   'id', null, 'delivery_id', d.id, 'webhook_id', d.webhook_id,
                   'workspace_id', d.workspace_id, 'event_type', d.event_type,
                   'attempt', d.attempts + case when d.lease_until is null then 1 else 0 end,
                   'status', 'pending', 'response_status_code', null, 'response_body', null,
                   'duration_ms', null, 'error', null, 'delivered_at', null,
                   'next_attempt_at', d.next_attempt_at) as doc
          from deliveries d
         where d.workspace_id = p_workspace_id and d.webhook_id = p_webhook_id
           and d.status = 'pending' and p_status in ('', 'pending')
        union all
        select 1, a.delivered_at, a.id,
               jsonb_build_object(
                   'id', a.id, 'delivery_id', a.delivery_id, 'webhook_id', a.webhook_id,
                   'workspace_id', a.workspace_id, 'event_type', a.event_type,
                   'attempt', a.attempt, 'status', a.status,
                   'response_status_code', a.response_status_code, 'response_body', a.response_body,
                   'duration_ms', a.duration_ms, 'error', a.error, 'delivered_at', a.delivered_at,
                   'next_attempt_at', null)
          from delivery_attempts a
         where a.workspace_id = p_workspace_id and a.webhook_id = p_webhook_id
           and (p_status = '' or a.status = p_status)
    ), page as (
        select grp, ts, sort_id, doc from entries
         order by grp, ts desc, sort_id desc
         offset greatest(p_offset, 0) limit greatest(p_limit, 0)
    )
    select (select count(*) from entries),
           coalesce((select jsonb_agg(doc order by grp, ts desc, sort_id desc) from page), '[]'::jsonb)
      into v_total, v_entries;
    return jsonb_build_object('total', v_total, 'entries', v_entries);
end;
$$;

-- Only the service role (and the owner) may call the new functions; the
-- Supabase roles exist only on Supabase.
do $$
declare
    f regprocedure;
    r text;
begin
    foreach f in array array[
        'gateway_rotate_webhook_secret_if_current(uuid, uuid, text, text, timestamptz, timestamptz)',
        'gateway_list_delivery_log(uuid, uuid, text, integer, integer)'
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
