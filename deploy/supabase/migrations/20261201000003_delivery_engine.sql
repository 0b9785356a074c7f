-- Issue 10: the delivery engine. The deliveries table is the queue: due rows
-- are claimed in batches (gateway_claim_due) under per-endpoint in-flight
-- limits, pauses and a fair order between workspaces and webhooks; outcomes
-- are recorded in batches (gateway_record_attempts); workers announce
-- themselves (gateway_worker_heartbeat) so that a crashed worker's leases
-- are released within seconds instead of at the end of a long lease; and
-- publishing or retrying notifies the channel gateway_deliveries so that
-- engines wake at once instead of at their next poll.
--
-- As everywhere, the functions take every time as an argument and never
-- call now(); the memory store mirrors them (with the Go functions of
-- gateway/delivery), and the conformance suite holds all stores to the same
-- cases.

-- The worker holding a delivery's lease (gateway_claim_due); null when the
-- lease was taken by gateway_claim_delivery, or when there is none.
alter table deliveries add column if not exists claimed_by uuid;

-- What the engine keeps about one webhook's endpoint across workers (see
-- delivery.EndpointState): its adaptive in-flight limit, a pause (from a
-- Retry-After or an open circuit) and its run of consecutive failures. The
-- engine computes it; the database keeps it and enforces in_flight_limit and
-- paused_until when claiming.
create table if not exists delivery_endpoints (
    webhook_id       uuid primary key,
    workspace_id     uuid not null,
    in_flight_limit  integer not null,
    paused_until     timestamptz,
    failures         integer not null default 0,
    circuit          text not null default 'closed',
    -- The newest delivered_at of the batch that last stored the state.
    updated_at       timestamptz,
    constraint delivery_endpoints_webhook_fkey foreign key (workspace_id, webhook_id)
        references webhooks (workspace_id, id) on delete cascade,
    constraint delivery_endpoints_limit_check check (in_flight_limit >= 0),
    constraint delivery_endpoints_failures_check check (failures >= 0),
    constraint delivery_endpoints_circuit_check check (circuit in ('closed', 'open'))
);

alter table delivery_endpoints enable row level security;

-- Live workers: each heartbeats; one whose heartbeat is too old is presumed
-- dead, and its leases are released by the next heartbeat of another.
create table if not exists delivery_workers (
    id            uuid primary key,
    heartbeat_at  timestamptz not null,
    started_at    timestamptz not null
);

alter table delivery_workers enable row level security;

-- The claim's per-webhook scan: the webhooks with pending rows are found by a
-- skip scan over the leading column (one probe per webhook, however many
-- rows wait), and each webhook's due rows are read oldest first. Test
-- deliveries are sent by the API call that made them and are not in it.
create index if not exists deliveries_webhook_due_idx
    on deliveries (webhook_id, next_attempt_at, id) where status = 'pending' and not test;
-- A queue table churns: every delivery is updated at least twice (claimed,
-- recorded) soon after it is inserted, and each update leaves a dead version
-- in the heap and dead entries in the partial indexes the claim scans from
-- their start. Vacuum it after 1% of its rows changed (instead of 20%) and
-- without the cost delay, so that the dead entries do not pile up between
-- runs on a large table.
alter table deliveries set (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_vacuum_cost_delay = 0
);

-- The asynq design's sweeper scanned deliveries_due_idx; the engine claims
-- through deliveries_webhook_due_idx instead. Every claim and record rewrites
-- a delivery row with an entry in every index of the table, so an index
-- nothing reads is dropped.
drop index if exists deliveries_due_idx;
-- Counting a webhook's attempts in flight, and finding a dead worker's
-- leases: only leased rows (at most the in-flight total) are in it.
create index if not exists deliveries_leased_idx
    on deliveries (webhook_id, lease_until) where lease_until is not null;

-- gateway_claim_due leases up to p_limit due deliveries for worker p_worker
-- for p_lease_ms milliseconds and returns their claims, a jsonb array of
-- {"delivery", "event", "target", "endpoint"} (as gateway_claim_delivery's
-- answer, plus the webhook's stored endpoint state or null), in claim order.
--
-- The rules are delivery.ClaimParams's: a delivery is claimable when it is
-- pending, not a test, due (next_attempt_at <= p_now), not leased (or its
-- lease ended before p_now) and its webhook is not paused (paused_until null
-- or <= p_now). Per webhook the unexpired leases after the claim never exceed
-- its limit: the stored in_flight_limit, or p_initial_limit without a stored
-- state, clamped to [1, p_max_limit]. Among the claimable (at most limit - in
-- flight per webhook, the only ones that can be taken), deliveries are ranked
-- within their webhook by (next_attempt_at, id), then within their workspace
-- by (webhook rank, next_attempt_at, id), and the claim takes the lowest
-- (workspace rank, next_attempt_at, id) first: every workspace, and every
-- webhook of a workspace, gets its turn however many another has waiting.
-- A claim sets lease_until and claimed_by and counts the attempt; it does not
-- change next_attempt_at. The due deliveries of inactive webhooks it meets
-- are cancelled (attempts unchanged) and not returned.
--
-- Concurrent claimers are serialised by a transaction-level advisory lock
-- (key 7301000010), so that the in-flight counts are exact across workers;
-- each statement after it reads the commits of the claimer before. The
-- rows are locked with SKIP LOCKED, so a row an attempt is being recorded
-- for right now is simply left for the next claim. A worker that claims is
-- registered in delivery_workers if it is not yet, so that its leases are
-- released if it dies before its first heartbeat.
create or replace function gateway_claim_due(
    p_worker uuid,
    p_now timestamptz,
    p_lease_ms bigint,
    p_limit integer,
    p_initial_limit integer,
    p_max_limit integer
) returns jsonb
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_hooks uuid[];
    v_take integer[];
    v_inactive uuid[];
    v_ids uuid[];
    v_depth integer;
    v_last_rank bigint;
    v_cut boolean;
    v_claims jsonb;
begin
    if p_lease_ms is null or p_lease_ms <= 0 then
        raise exception 'the lease must be at least one millisecond' using errcode = '22023';
    end if;
    if p_worker is null or p_now is null then
        raise exception 'a claim needs its worker and its time' using errcode = '22023';
    end if;
    if p_limit is null or p_limit <= 0 then
        return '[]'::jsonb;
    end if;
    perform pg_advisory_xact_lock(7301000010);

    insert into delivery_workers (id, heartbeat_at, started_at)
    values (p_worker, p_now, p_now)
    on conflict (id) do nothing;

    -- Every webhook with pending (non-test) rows, by a recursive skip scan
    -- over deliveries_webhook_due_idx, with what may be taken from it.
    with recursive hooks(webhook_id) as (
        (select d.webhook_id from deliveries d
          where d.status = 'pending' and not d.test
          order by d.webhook_id limit 1)
        union all
        select (select d.webhook_id from deliveries d
                 where d.status = 'pending' and not d.test and d.webhook_id > h.webhook_id
                 order by d.webhook_id limit 1)
          from hooks h
         where h.webhook_id is not null
    ), state as (
        select h.webhook_id, w.active,
               (e.paused_until is not null and e.paused_until > p_now) as paused,
               greatest(least(coalesce(e.in_flight_limit, p_initial_limit, 1), p_max_limit), 1) as lim
          from hooks h
          join webhooks w on w.id = h.webhook_id
          left join delivery_endpoints e on e.webhook_id = h.webhook_id
         where h.webhook_id is not null
    ), leased as (
        -- The attempts in flight per webhook, in one pass over
        -- deliveries_leased_idx (it holds only the leased rows, at most the
        -- in-flight total) instead of one probe per webhook.
        select f.webhook_id, count(*) as n
          from deliveries f
         where f.lease_until is not null and f.lease_until >= p_now
         group by f.webhook_id
    ), open as (
        -- The free slots of the active, unpaused webhooks.
        select s.webhook_id,
               least(s.lim - coalesce(l.n, 0), p_limit)::integer as take
          from state s
          left join leased l on l.webhook_id = s.webhook_id
         where s.active and not s.paused
    )
    select (select array_agg(o.webhook_id order by o.webhook_id) from open o where o.take > 0),
           (select array_agg(o.take order by o.webhook_id) from open o where o.take > 0),
           (select array_agg(s.webhook_id) from state s where not s.active)
      into v_hooks, v_take, v_inactive;

    if v_inactive is not null then
        update deliveries d
           set status = 'cancelled',
               next_attempt_at = null,
               updated_at = p_now
         where d.webhook_id = any (v_inactive)
           and d.status = 'pending' and not d.test
           and d.next_attempt_at <= p_now
           and (d.lease_until is null or d.lease_until < p_now);
    end if;

    if v_hooks is null then
        return '[]'::jsonb;
    end if;

    -- The fair order, found by iterative deepening: take at most v_depth
    -- rows per webhook (its oldest), rank them, and keep the first p_limit.
    -- Within a workspace every row of webhook rank <= v_depth comes before
    -- any row of a deeper rank, so the ranks of the rows taken are their
    -- ranks among all the claimable; the answer is exact when no webhook
    -- was cut short, or when p_limit rows were picked and none has a
    -- workspace rank above v_depth (every row left out ranks after it).
    -- Otherwise the depth doubles. With many webhooks due, depth
    -- ceil(p_limit / webhooks) suffices at once: one probe per webhook.
    v_depth := greatest(1, ceil(p_limit::numeric / cardinality(v_hooks))::integer);
    loop
        -- The per-webhook probe is a bare index scan with a limit; the
        -- ranks are computed once over all the candidates (a window inside
        -- the LATERAL would be built again for every webhook).
        with candidates as (
            select d.id, d.workspace_id, d.webhook_id, d.next_attempt_at, s.take
              from unnest(v_hooks, v_take) as s(webhook_id, take)
              cross join lateral (
                  select d.id, d.workspace_id, d.webhook_id, d.next_attempt_at
                    from deliveries d
                   where d.webhook_id = s.webhook_id
                     and d.status = 'pending' and not d.test
                     and d.next_attempt_at <= p_now
                     and (d.lease_until is null or d.lease_until < p_now)
                   order by d.next_attempt_at, d.id
                   limit greatest(least(s.take, v_depth), 0)) d
        ), hooked as (
            select c.id, c.workspace_id, c.next_attempt_at,
                   row_number() over (partition by c.webhook_id order by c.next_attempt_at, c.id) as hook_rank,
                   (count(*) over (partition by c.webhook_id) = v_depth and c.take > v_depth) as cut
              from candidates c
        ), ranked as (
            select c.id, c.next_attempt_at, c.cut,
                   row_number() over (partition by c.workspace_id
                                      order by c.hook_rank, c.next_attempt_at, c.id) as workspace_rank
              from hooked c
        ), picked as (
            select r.id, r.next_attempt_at, r.workspace_rank
              from ranked r
             order by r.workspace_rank, r.next_attempt_at, r.id
             limit p_limit
        )
        select (select array_agg(p.id order by p.workspace_rank, p.next_attempt_at, p.id) from picked p),
               (select max(p.workspace_rank) from picked p),
               (select coalesce(bool_or(r.cut), false) from ranked r)
          into v_ids, v_last_rank, v_cut;
        exit when not v_cut
               or (coalesce(cardinality(v_ids), 0) = p_limit and v_last_rank <= v_depth);
        v_depth := v_depth * 2;
    end loop;

    if v_ids is null then
        return '[]'::jsonb;
    end if;

    with picked as (
        select p.id, p.ord from unnest(v_ids) with ordinality as p(id, ord)
    ), locked as (
        -- The conditions again: a row changed since the ranking's snapshot
        -- is re-checked against them when it is locked.
        select d.id from deliveries d
         where d.id = any (v_ids)
           and d.status = 'pending' and not d.test
           and d.next_attempt_at <= p_now
           and (d.lease_until is null or d.lease_until < p_now)
           for update skip locked
    ), claimed as (
        update deliveries d
           set attempts = d.attempts + 1,
               lease_until = p_now + p_lease_ms * interval '1 millisecond',
               claimed_by = p_worker,
               updated_at = p_now
          from locked l
         where d.id = l.id
        returning d.id, d.workspace_id, d.webhook_id, d.event_id, d.event_type, d.test,
                  d.status, d.attempts, d.next_attempt_at, d.created_at, d.updated_at
    )
    select jsonb_agg(jsonb_build_object(
               -- The row's columns but the lease, named one by one: cheaper
               -- than to_jsonb of the whole row minus two keys.
               'delivery', jsonb_build_object(
                   'id', d.id, 'workspace_id', d.workspace_id, 'webhook_id', d.webhook_id,
                   'event_id', d.event_id, 'event_type', d.event_type, 'test', d.test,
                   'status', d.status, 'attempts', d.attempts,
                   'next_attempt_at', d.next_attempt_at, 'created_at', d.created_at,
                   'updated_at', d.updated_at),
               'event', jsonb_build_object(
                   'id', e.id, 'workspace_id', e.workspace_id, 'type', e.type,
                   'data', e.data, 'created_at', e.created_at),
               'target', jsonb_build_object(
                   'url', w.url, 'active', w.active,
                   'secret_ciphertext', w.secret_ciphertext,
                   'previous_secret_ciphertext', w.previous_secret_ciphertext,
                   'previous_secret_expires_at', w.previous_secret_expires_at),
               'endpoint', case when ep.webhook_id is not null then jsonb_build_object(
                   'webhook_id', ep.webhook_id, 'workspace_id', ep.workspace_id,
                   'limit', ep.in_flight_limit, 'paused_until', ep.paused_until,
                   'failures', ep.failures, 'circuit', ep.circuit) end)
             order by p.ord)
      into v_claims
      from claimed d
      join picked p on p.id = d.id
      join webhooks w on w.workspace_id = d.workspace_id and w.id = d.webhook_id
      join events e on e.workspace_id = d.workspace_id and e.id = d.event_id
      left join delivery_endpoints ep on ep.webhook_id = d.webhook_id;
    return coalesce(v_claims, '[]'::jsonb);
end;
$$;

-- gateway_record_attempts records a batch of outcomes and stores endpoint
-- states, in one transaction, and returns a jsonb array with one answer per
-- outcome, in input order: 'recorded', 'stale' or 'not_found', with the
-- meaning gateway_record_attempt gives them (which is now this function on a
-- batch of one, so that each rule is written once).
--
-- p_outcomes is an array of objects with the keys of gateway_record_attempt's
-- arguments without the p_ prefix (id, workspace_id, webhook_id,
-- delivery_id, attempt, status, response_status_code, response_body,
-- duration_ms, error, delivered_at, next_attempt_at, disable_after_ms).
-- Outcomes are applied in input order, so a second outcome of one claim in
-- the batch is stale. A stale attempt is logged, but changes neither the
-- delivery nor the webhook.
--
-- Each webhook row is updated at most once per batch (in one statement for
-- all of them), and not at all when nothing of it changes: its last_delivery_status/at, failing_since and the
-- auto-disable rule come out as if the applied attempts had been recorded one
-- by one in delivered_at order (ties in input order).
--
-- p_endpoints is an array of {webhook_id, workspace_id, limit, paused_until,
-- failures, circuit}: each is upserted (in_flight_limit, failures and circuit
-- replaced, paused_until the later of the stored and the given; an empty
-- circuit is closed; the last of several for one webhook wins, with the
-- latest pause of them all). Those of webhooks that no longer exist in their
-- workspace are dropped.
--
-- Locks are taken webhooks first, then deliveries, each in id order: the
-- order in which deleting a webhook locks them, and one order for every
-- batch, so that concurrent batches and deletes cannot deadlock.
create or replace function gateway_record_attempts(
    p_outcomes jsonb,
    p_endpoints jsonb
) returns jsonb
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    r record;
    w record;
    v_results text[];
    v_ords bigint[];
    v_hooks uuid[];
    v_ats timestamptz[];
    v_attempt_statuses text[];
    v_delivery_statuses text[];
    v_disable_after bigint[];
    v_current uuid;
    v_status text;
    v_at timestamptz;
    v_failing timestamptz;
    v_active boolean;
    v_reason text;
    v_updated timestamptz;
    v_newest timestamptz;
    v_w_ids uuid[] := '{}';
    v_w_status text[] := '{}';
    v_w_at timestamptz[] := '{}';
    v_w_failing timestamptz[] := '{}';
    v_w_active boolean[] := '{}';
    v_w_reason text[] := '{}';
    v_w_updated timestamptz[] := '{}';
begin
    if p_outcomes is null or jsonb_typeof(p_outcomes) <> 'array' then
        raise exception 'the outcomes must be a JSON array' using errcode = '22023';
    end if;
    if p_endpoints is not null and jsonb_typeof(p_endpoints) not in ('array', 'null') then
        raise exception 'the endpoint states must be a JSON array' using errcode = '22023';
    end if;
    -- status is the attempt's outcome (success or failed); a failed attempt
    -- with next_attempt_at leaves the delivery pending. (pending is still
    -- read as "failed, retried", as workers before 20261201000002 send it.)
    if exists (
        select 1 from jsonb_to_recordset(p_outcomes) as x(status text, next_attempt_at timestamptz)
         where x.status is null
            or x.status = 'pending' and x.next_attempt_at is null
            or x.status = 'success' and x.next_attempt_at is not null
            or x.status not in ('success', 'failed', 'pending')) then
        raise exception 'a next attempt comes only after a failed attempt'
            using errcode = '22023';
    end if;

    perform 1 from webhooks wh
     where wh.id in (select (x ->> 'webhook_id')::uuid from jsonb_array_elements(p_outcomes) x)
     order by wh.id
       for no key update;
    perform 1 from deliveries d
     where d.id in (select (x ->> 'delivery_id')::uuid from jsonb_array_elements(p_outcomes) x)
     order by d.id
       for update;

    -- Every outcome at once, against the deliveries as locked: an outcome
    -- applies when its claim still holds the delivery (pending, leased, the
    -- claim's attempt number), and only the first such outcome of a
    -- delivery in the batch, since applying it releases the lease (a stale
    -- outcome changes nothing, so the order of the others does not matter).
    -- Every outcome of an existing delivery is logged.
    with o as (
        select x.*
          from rows from (jsonb_to_recordset(p_outcomes) as (
                   id uuid, workspace_id uuid, webhook_id uuid, delivery_id uuid, attempt integer,
                   status text, response_status_code integer, response_body text, duration_ms integer,
                   error text, delivered_at timestamptz, next_attempt_at timestamptz,
                   disable_after_ms bigint))
               with ordinality as x(id, workspace_id, webhook_id, delivery_id, attempt, status,
                   response_status_code, response_body, duration_ms, error, delivered_at,
                   next_attempt_at, disable_after_ms, ord)
    ), j as (
        select o.*, d.event_type, (d.id is not null) as found,
               case when o.status = 'pending' then 'failed' else o.status end as attempt_status,
               (d.id is not null and d.status = 'pending' and d.attempts = o.attempt
                and d.lease_until is not null) as holds
          from o
          left join deliveries d
            on d.id = o.delivery_id and d.workspace_id = o.workspace_id and d.webhook_id = o.webhook_id
    ), a as (
        select j.*,
               case when j.next_attempt_at is not null then 'pending' else j.attempt_status end as delivery_status,
               case when not j.found then 'not_found'
                    when j.holds and row_number() over (partition by j.delivery_id, j.holds order by j.ord) = 1
                        then 'recorded'
                    else 'stale' end as answer
          from j
    ), logged as (
        insert into delivery_attempts (id, delivery_id, webhook_id, workspace_id, event_type, attempt,
                                       status, response_status_code, response_body, duration_ms,
                                       error, delivered_at)
        select coalesce(a.id, gen_random_uuid()), a.delivery_id, a.webhook_id, a.workspace_id,
               a.event_type, a.attempt, a.attempt_status, a.response_status_code,
               coalesce(a.response_body, ''), a.duration_ms, a.error, a.delivered_at
          from a
         where a.found
         order by a.ord
    ), applied as (
        update deliveries d
           set status = a.delivery_status,
               next_attempt_at = a.next_attempt_at,
               lease_until = null,
               claimed_by = null,
               updated_at = a.delivered_at
          from a
         where a.answer = 'recorded' and d.id = a.delivery_id
    )
    select array_agg(a.answer order by a.ord),
           array_agg(a.ord) filter (where a.answer = 'recorded'),
           array_agg(a.webhook_id) filter (where a.answer = 'recorded'),
           array_agg(a.delivered_at) filter (where a.answer = 'recorded'),
           array_agg(a.attempt_status) filter (where a.answer = 'recorded'),
           array_agg(a.delivery_status) filter (where a.answer = 'recorded'),
           array_agg(coalesce(a.disable_after_ms, 0)) filter (where a.answer = 'recorded'),
           max(a.delivered_at) filter (where a.answer = 'recorded')
      into v_results, v_ords, v_hooks, v_ats, v_attempt_statuses, v_delivery_statuses, v_disable_after, v_newest
      from a;

    -- Each webhook once: its applied attempts replayed in delivered_at
    -- order (ties in batch order), with the rules of one attempt each; the
    -- row is written when the webhook's run ends, and only if it changed.
    v_current := null;
    for r in
        select wh.workspace_id, wh.id, wh.last_delivery_status, wh.last_delivery_at,
               wh.failing_since, wh.active, wh.disabled_reason, wh.updated_at,
               x.delivered_at, x.attempt_status, x.delivery_status, x.disable_after_ms
          from unnest(v_ords, v_hooks, v_ats, v_attempt_statuses, v_delivery_statuses, v_disable_after)
               as x(ord, webhook_id, delivered_at, attempt_status, delivery_status, disable_after_ms)
          join webhooks wh on wh.id = x.webhook_id
         order by wh.id, x.delivered_at, x.ord
    loop
        if v_current is distinct from r.id then
            if v_current is not null then
                if v_status is distinct from w.last_delivery_status or v_at is distinct from w.last_delivery_at
                   or v_failing is distinct from w.failing_since or v_active is distinct from w.active then
                    v_w_ids := v_w_ids || w.id;
                    v_w_status := v_w_status || v_status;
                    v_w_at := v_w_at || v_at;
                    v_w_failing := v_w_failing || v_failing;
                    v_w_active := v_w_active || v_active;
                    v_w_reason := v_w_reason || v_reason;
                    v_w_updated := v_w_updated || v_updated;
                end if;
            end if;
            v_current := r.id;
            w := r;
            v_status := r.last_delivery_status;
            v_at := r.last_delivery_at;
            v_failing := r.failing_since;
            v_active := r.active;
            v_reason := r.disabled_reason;
            v_updated := r.updated_at;
        end if;
        if v_at is null or v_at <= r.delivered_at then
            v_status := r.delivery_status;
        end if;
        v_at := greatest(v_at, r.delivered_at);
        v_failing := case when r.attempt_status = 'success' then null
                          else coalesce(v_failing, r.delivered_at) end;
        if r.attempt_status <> 'success' and r.disable_after_ms > 0 and v_active
           and v_failing <= r.delivered_at - r.disable_after_ms * interval '1 millisecond' then
            v_active := false;
            v_reason := 'deliveries have failed since '
                || to_char(v_failing at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
            v_updated := greatest(v_updated, r.delivered_at);
        end if;
    end loop;
    if v_current is not null
       and (v_status is distinct from w.last_delivery_status or v_at is distinct from w.last_delivery_at
            or v_failing is distinct from w.failing_since or v_active is distinct from w.active) then
        v_w_ids := v_w_ids || w.id;
        v_w_status := v_w_status || v_status;
        v_w_at := v_w_at || v_at;
        v_w_failing := v_w_failing || v_failing;
        v_w_active := v_w_active || v_active;
        v_w_reason := v_w_reason || v_reason;
        v_w_updated := v_w_updated || v_updated;
    end if;
    if cardinality(v_w_ids) > 0 then
        update webhooks wh
           set last_delivery_status = x.status,
               last_delivery_at = x.at,
               failing_since = x.failing,
               active = x.active,
               disabled_reason = x.reason,
               updated_at = x.updated
          from unnest(v_w_ids, v_w_status, v_w_at, v_w_failing, v_w_active, v_w_reason, v_w_updated)
               as x(id, status, at, failing, active, reason, updated)
         where wh.id = x.id;
    end if;

    if p_endpoints is not null and jsonb_typeof(p_endpoints) = 'array' and jsonb_array_length(p_endpoints) > 0 then
        insert into delivery_endpoints as ep (webhook_id, workspace_id, in_flight_limit, paused_until,
                                              failures, circuit, updated_at)
        select distinct on (x.webhook_id)
               x.webhook_id, x.workspace_id, coalesce(x."limit", 0),
               max(x.paused_until) over (partition by x.webhook_id),
               coalesce(x.failures, 0), coalesce(nullif(x.circuit, ''), 'closed'), v_newest
          from rows from (jsonb_to_recordset(p_endpoints) as (
                   webhook_id uuid, workspace_id uuid, "limit" integer, paused_until timestamptz,
                   failures integer, circuit text))
               with ordinality as x(webhook_id, workspace_id, "limit", paused_until, failures, circuit, ord)
          join webhooks wh on wh.workspace_id = x.workspace_id and wh.id = x.webhook_id
         order by x.webhook_id, x.ord desc
        on conflict (webhook_id) do update
           set in_flight_limit = excluded.in_flight_limit,
               paused_until = greatest(ep.paused_until, excluded.paused_until),
               failures = excluded.failures,
               circuit = excluded.circuit,
               updated_at = coalesce(greatest(ep.updated_at, excluded.updated_at), ep.updated_at);
    end if;

    return coalesce(to_jsonb(v_results), '[]'::jsonb);
end;
$$;

-- gateway_record_attempt, as before (20261201000002), now the batch of one:
-- the rules live in gateway_record_attempts only.
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
language sql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
    select gateway_record_attempts(jsonb_build_array(jsonb_build_object(
               'id', p_id, 'workspace_id', p_workspace_id, 'webhook_id', p_webhook_id,
               'delivery_id', p_delivery_id, 'attempt', p_attempt, 'status', p_status,
               'response_status_code', p_response_status_code, 'response_body', p_response_body,
               'duration_ms', p_duration_ms, 'error', p_error, 'delivered_at', p_delivered_at,
               'next_attempt_at', p_next_attempt_at, 'disable_after_ms', p_disable_after_ms)),
           '[]'::jsonb) ->> 0;
$$;

-- gateway_release_leases releases the leases the given workers hold (their
-- deliveries become claimable at once, attempt counts unchanged: a record
-- from such a worker is then stale), wakes the engines if it released any,
-- and returns how many.
create or replace function gateway_release_leases(p_workers uuid[]) returns integer
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_released integer;
begin
    update deliveries
       set lease_until = null,
           claimed_by = null
     where lease_until is not null
       and claimed_by = any (p_workers);
    get diagnostics v_released = row_count;
    if v_released > 0 then
        perform pg_notify('gateway_deliveries', '');
    end if;
    return v_released;
end;
$$;

-- gateway_worker_heartbeat marks p_worker alive at p_now (registering it if
-- new), releases the leases of every other worker whose last heartbeat is
-- older than p_now - p_dead_after_ms, forgets those workers, and returns how
-- many leases it released.
create or replace function gateway_worker_heartbeat(
    p_worker uuid,
    p_now timestamptz,
    p_dead_after_ms bigint
) returns integer
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_dead uuid[];
begin
    if p_worker is null or p_now is null or p_dead_after_ms is null or p_dead_after_ms <= 0 then
        raise exception 'a heartbeat needs its worker, its time and a positive dead-after'
            using errcode = '22023';
    end if;
    insert into delivery_workers (id, heartbeat_at, started_at)
    values (p_worker, p_now, p_now)
    on conflict (id) do update set heartbeat_at = excluded.heartbeat_at;
    with dead as (
        delete from delivery_workers
         where id <> p_worker
           and heartbeat_at < p_now - p_dead_after_ms * interval '1 millisecond'
        returning id
    )
    select array_agg(id) into v_dead from dead;
    if v_dead is null then
        return 0;
    end if;
    return gateway_release_leases(v_dead);
end;
$$;

-- gateway_retire_worker forgets a worker that stopped cleanly and releases
-- the leases it still holds, if any; it returns how many.
create or replace function gateway_retire_worker(p_worker uuid) returns integer
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
begin
    delete from delivery_workers where id = p_worker;
    return gateway_release_leases(array[p_worker]);
end;
$$;

-- gateway_delivery_backlog reports the engine's state at p_now, for metrics:
-- {"due", "oldest_due", "in_flight", "paused_endpoints", "open_circuits"}.
-- due counts the pending non-test deliveries due and not leased (waiting for
-- a slot), from deliveries_webhook_due_idx; in_flight the unexpired leases, from
-- deliveries_leased_idx.
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
        'open_circuits', (select count(*) from delivery_endpoints where circuit = 'open'))
      from (select count(*) as n, min(next_attempt_at) as oldest
              from deliveries
             where status = 'pending' and not test
               and next_attempt_at <= p_now
               and (lease_until is null or lease_until < p_now)) due;
$$;

-- gateway_publish_event, as in 20261127000003, without the lease columns in
-- its answer. It does not NOTIFY: Postgres serialises the commits of all
-- notifying transactions (the notify queue's lock is held until the commit
-- is flushed), which capped publishing at one commit flush at a time
-- (~520 events/s here). The API wakes the engines after the commit instead,
-- coalesced (delivery.Coalesce: Redis pub/sub, and a NOTIFY of its own
-- through postgres.Store.Notify).
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
            (select jsonb_agg(to_jsonb(d) - 'lease_until' - 'claimed_by' order by d.id)
               from deliveries d
              where d.workspace_id = p_workspace_id and d.event_id = p_id),
            '[]'::jsonb));
end;
$$;

-- gateway_retry_delivery, as in 20261127000003, without the lease columns in
-- its answer; a retried test delivery becomes an ordinary one. Like
-- publishing, it leaves waking the engines to the API.
create or replace function gateway_retry_delivery(
    p_workspace_id uuid,
    p_webhook_id uuid,
    p_id uuid,
    p_now timestamptz
) returns jsonb
language plpgsql
set search_path = public, pg_temp
set timezone = 'UTC'
as $$
declare
    v_delivery jsonb;
begin
    -- A retried test delivery becomes an ordinary one (test false): the
    -- engine sends it, since only the API call that made a test delivery
    -- sends it as a test, and gateway_claim_due takes no test delivery.
    update deliveries d
       set status = 'pending',
           test = false,
           next_attempt_at = p_now,
           updated_at = p_now
     where d.id = p_id and d.workspace_id = p_workspace_id and d.webhook_id = p_webhook_id
    returning to_jsonb(d) - 'lease_until' - 'claimed_by' into v_delivery;
    return v_delivery;
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
        'gateway_claim_due(uuid, timestamptz, bigint, integer, integer, integer)',
        'gateway_record_attempts(jsonb, jsonb)',
        'gateway_record_attempt(uuid, uuid, uuid, uuid, integer, text, integer, text, integer, text, timestamptz, timestamptz, bigint)',
        'gateway_release_leases(uuid[])',
        'gateway_worker_heartbeat(uuid, timestamptz, bigint)',
        'gateway_retire_worker(uuid)',
        'gateway_delivery_backlog(timestamptz)',
        'gateway_publish_event(uuid, uuid, text, text, timestamptz)',
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
