-- The delivery backlog (gateway_delivery_backlog, for metrics) also counts
-- the webhooks the auto-disable rule has set inactive, so that operators see
-- receivers that stopped getting events: "auto_disabled" counts the inactive
-- webhooks with a disabled_reason (reactivating a webhook clears it). The
-- function's grants stay as 20261201000003 gave them (create or replace
-- keeps them).
create or replace function gateway_delivery_backlog(p_now timestamptz) returns jsonb
language sql
stable
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
    select jsonb_build_object(
        'due', due.n, 'oldest_due', due.oldest,
        'in_flight', (select count(*) from deliveries where lease_until is not null and lease_until >= p_now),
        'paused_endpoints', (select count(*) from delivery_endpoints where paused_until > p_now),
        'open_circuits', (select count(*) from delivery_endpoints where circuit = 'open'),
        'auto_disabled', (select count(*) from webhooks where not active and disabled_reason is not null))
      from (select count(*) as n, min(next_attempt_at) as oldest
              from deliveries
             where status = 'pending' and not test
               and next_attempt_at <= p_now
               and (lease_until is null or lease_until < p_now)) due;
$$;
