-- Issue 11: traces. The W3C traceparent of the request that published an
-- event, so that the worker (another process, possibly hours later) can link
-- every delivery attempt's span to the publish's. A side table rather than a
-- column of events: the publishing functions stay as they are, and the row is
-- written only when tracing is on and the request's span is sampled.
--
-- Events are keyed by (workspace_id, id) (publishers choose ids, unique per
-- workspace), so this table is too. Rows go with their event (on delete
-- cascade); nothing here purges events, so the table grows with events, by
-- one short row per traced publish.
create table if not exists event_traces (
    workspace_id  uuid not null,
    event_id      uuid not null,
    traceparent   text not null,
    created_at    timestamptz not null default now(),
    primary key (workspace_id, event_id),
    constraint event_traces_event_fkey foreign key (workspace_id, event_id)
        references events (workspace_id, id) on delete cascade,
    -- version-traceid-spanid-flags, lower-case hex (W3C Trace Context).
    constraint event_traces_traceparent_check
        check (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$')
);

-- Like every gateway table: row level security on and no policy, so only the
-- service role (which bypasses it, through PostgREST for the supabase store)
-- and the owner (the postgres store) reach the rows; the Supabase client
-- roles exist only on Supabase and get nothing.
alter table event_traces enable row level security;

do $$
declare
    r text;
begin
    revoke all on table event_traces from public;
    foreach r in array array['anon', 'authenticated'] loop
        if exists (select 1 from pg_roles where rolname = r) then
            execute format('revoke all on table event_traces from %I', r);
        end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
        grant select, insert, delete on table event_traces to service_role;
    end if;
end;
$$;
