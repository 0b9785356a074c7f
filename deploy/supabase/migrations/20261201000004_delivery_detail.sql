-- Issue 12: the portal's delivery detail (GET /v1/webhooks/{id}/logs/{delivery_id}).
-- Functions only; no table changes.

-- gateway_get_delivery returns null when the workspace's webhook has no such
-- delivery, else {"delivery": …, "event": …, "attempts": [...]}: the
-- deliveries row (without its lease), the event it carries (its data as the
-- stored text, so the payload can be rebuilt byte for byte) and every
-- logged attempt of it, by attempt number, then delivery time, then id.
create or replace function gateway_get_delivery(
    p_workspace_id uuid,
    p_webhook_id uuid,
    p_delivery_id uuid
) returns jsonb
language plpgsql
stable
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_delivery deliveries%rowtype;
    v_event events%rowtype;
begin
    select * into v_delivery from deliveries
     where id = p_delivery_id and workspace_id = p_workspace_id and webhook_id = p_webhook_id;
    if not found then
        return null;
    end if;
    select * into v_event from events
     where workspace_id = p_workspace_id and id = v_delivery.event_id;
    if not found then
        return null;
    end if;
    return jsonb_build_object(
        'delivery', to_jsonb(v_delivery) - 'lease_until',
        'event', jsonb_build_object(
            'id', v_event.id, 'workspace_id', v_event.workspace_id, 'type', v_event.type,
            'data', v_event.data, 'created_at', v_event.created_at),
        'attempts', coalesce((
            select jsonb_agg(jsonb_build_object(
                       'id', a.id, 'delivery_id', a.delivery_id, 'webhook_id', a.webhook_id,
                       'workspace_id', a.workspace_id, 'event_type', a.event_type,
                       'attempt', a.attempt, 'status', a.status,
                       'response_status_code', a.response_status_code, 'response_body', a.response_body,
                       'duration_ms', a.duration_ms, 'error', a.error, 'delivered_at', a.delivered_at,
                       'next_attempt_at', null)
                   order by a.attempt, a.delivered_at, a.id)
              from delivery_attempts a
             where a.delivery_id = v_delivery.id and a.workspace_id = p_workspace_id), '[]'::jsonb));
end;
$$;

-- Only the service role (and the owner) may call it; the Supabase roles
-- exist only on Supabase.
do $$
declare
    f regprocedure := 'gateway_get_delivery(uuid, uuid, uuid)'::regprocedure;
    r text;
begin
    execute format('revoke execute on function %s from public', f);
    foreach r in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = r) then
            execute format('revoke execute on function %s from %I', f, r);
        end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        execute format('grant execute on function %s to service_role', f);
    end if;
end;
$$;
