-- Issue 8: API-key lineage. A key minted through the API records the key that
-- minted it (created_by), never outlives it, and goes when it goes: revoking a
-- key revokes every key it minted, transitively. last_used_at is refreshed off
-- the request path, at most once a minute per key and instance.

alter table api_keys add column if not exists created_by uuid references api_keys (id);
alter table api_keys add column if not exists last_used_at timestamptz;
create index if not exists api_keys_created_by_idx on api_keys (created_by) where created_by is not null;

-- Minting and revoking take the same per-workspace lock, so they serialise:
-- a mint that commits first is seen by the revoke's tree walk, and a mint that
-- comes second sees its parent revoked. Without the lock a child inserted
-- while its parent is being revoked would escape the cascade.

-- gateway_api_key_can_act is the one SQL statement of the rule for a key that
-- mints or revokes (apikeys.Key.CanAct in Go): a key of the workspace, not
-- revoked at all (whatever time the revocation carries: instances' clocks
-- differ), not expired at p_at.
create or replace function gateway_api_key_can_act(
    p_workspace_id uuid,
    p_id uuid,
    p_at timestamptz
) returns boolean
language sql
stable
set search_path = public, pg_temp
as $$
    select exists (
        select 1 from api_keys
         where id = p_id and workspace_id = p_workspace_id
           and revoked_at is null
           and (expires_at is null or expires_at > p_at)
    );
$$;

-- gateway_create_api_key inserts a key. With p_created_by set, the parent must
-- be a key of the same workspace that is not revoked (whatever time the
-- revocation carries: instances' clocks differ) nor expired at p_created_at,
-- read from the table under the lock, never from a cache; otherwise it raises
-- SQLSTATE LL002 and inserts nothing.
create or replace function gateway_create_api_key(
    p_id uuid,
    p_workspace_id uuid,
    p_name text,
    p_description text,
    p_key_prefix text,
    p_key_hash text,
    p_permissions text[],
    p_plan text,
    p_tier text,
    p_expires_at timestamptz,
    p_revoked_at timestamptz,
    p_created_at timestamptz,
    p_created_by uuid
) returns setof api_keys
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_created timestamptz := coalesce(p_created_at, now());
begin
    if p_created_by is not null then
        perform pg_advisory_xact_lock(hashtextextended('leadlex.api_keys:' || p_workspace_id::text, 0));
        if not gateway_api_key_can_act(p_workspace_id, p_created_by, v_created) then
            raise exception 'api_key_parent_inactive' using errcode = 'LL002';
        end if;
    end if;
    return query
        insert into api_keys (id, workspace_id, name, description, key_prefix, key_hash, permissions,
                              plan, tier, expires_at, revoked_at, created_at, created_by)
        values (p_id, p_workspace_id, p_name, p_description, p_key_prefix, p_key_hash, p_permissions,
                p_plan, p_tier, p_expires_at, p_revoked_at, v_created, p_created_by)
        returning *;
end;
$$;

-- gateway_revoke_api_key revokes the key p_id (within p_workspace_id unless it
-- is null, the operator's unscoped revoke) and every key minted from it,
-- transitively, in one transaction, and returns the ids it revoked now (keys
-- revoked before keep their first revocation time). An unknown key raises
-- LL003. With p_by set, the acting key must be unrevoked and unexpired at
-- p_at, read under the lock; otherwise LL002 and nothing is revoked.
create or replace function gateway_revoke_api_key(
    p_workspace_id uuid,
    p_id uuid,
    p_by uuid,
    p_at timestamptz
) returns setof uuid
language plpgsql
set search_path = public, pg_temp
as $$
declare
    v_workspace uuid;
begin
    select workspace_id into v_workspace from api_keys
     where id = p_id and (p_workspace_id is null or workspace_id = p_workspace_id);
    if v_workspace is null then
        raise exception 'api_key_not_found' using errcode = 'LL003';
    end if;
    perform pg_advisory_xact_lock(hashtextextended('leadlex.api_keys:' || v_workspace::text, 0));
    if p_by is not null and not gateway_api_key_can_act(v_workspace, p_by, p_at) then
        raise exception 'api_key_actor_inactive' using errcode = 'LL002';
    end if;
    return query
        with recursive tree (id) as (
            select p_id
            union
            select k.id from api_keys k join tree t on k.created_by = t.id
        )
        update api_keys k set revoked_at = p_at
          from tree
         where k.id = tree.id and k.revoked_at is null
        returning k.id;
end;
$$;

-- gateway_touch_api_key records a use; an older time never overwrites a newer
-- one, so instances that report late cannot move last_used_at backwards.
create or replace function gateway_touch_api_key(
    p_id uuid,
    p_at timestamptz
) returns void
language sql
set search_path = public, pg_temp
as $$
    update api_keys set last_used_at = p_at
     where id = p_id and (last_used_at is null or last_used_at < p_at);
$$;

-- Only the service role (and the table owner) may call them.
do $$
declare
    f text;
    r text;
begin
    foreach f in array array[
        'gateway_create_api_key(uuid, uuid, text, text, text, text, text[], text, text, timestamptz, timestamptz, timestamptz, uuid)',
        'gateway_revoke_api_key(uuid, uuid, uuid, timestamptz)',
        'gateway_touch_api_key(uuid, timestamptz)',
        'gateway_api_key_can_act(uuid, uuid, timestamptz)'
    ] loop
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
