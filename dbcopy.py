"""Moving up: copy a SQLite database into an empty PostgreSQL one.

``gateway copy-database TARGET_URL`` copies every row of every table of
the gateway's SQLite database (``GATEWAY_DATABASE_URL``) into a new
PostgreSQL database, for a team that outgrows one host.  Both are first
brought to the code's schema by the migrations, so the tables match
column for column.  The copy:

- reads the source in one transaction: a consistent snapshot even if the
  gateway is still writing (stop it first, or what comes after is left
  behind);
- writes the target in one transaction: a failure leaves it empty;
- keeps every id, then moves each id sequence past the highest id, so
  new rows never collide with copied ones;
- refuses a target that already has rows in any table, and checks the
  row count of every table before it commits.

Throttle counters are not copied: they are short-lived and live in the
rate-limit storage (Redis for several hosts), not in the database.
"""
import migrate
import store

BATCH = 1000


class CopyError(RuntimeError):
    """The copy cannot be made; nothing was written."""


def copy_database(source_url, target_url, progress=None):
    """Copy every row from ``source_url`` (SQLite) to ``target_url``
    (PostgreSQL, empty); return ``{table: rows copied}``."""
    if store.is_postgres_url(source_url):
        raise CopyError("the source must be a SQLite database "
                        "(GATEWAY_DATABASE_URL=sqlite:///...)")
    if not store.is_postgres_url(target_url):
        raise CopyError("the target must be a postgresql:// URL")
    source = store.open_database(source_url)
    target = store.open_database(target_url, pool_size=1)
    try:
        with source.connection_context(), target.connection_context():
            migrate.apply_pending(source)
            migrate.apply_pending(target)
            if migrate.applied_versions(source) != \
                    migrate.applied_versions(target):
                raise CopyError("the two databases are at different "
                                "schema versions")
            tables = copy_order(source)
            check_target(target, tables)
            with source.atomic(), target.atomic():
                counts = {}
                for table in tables:
                    counts[table] = copy_table(source, target, table)
                    if progress:
                        progress(table, counts[table])
                reset_sequences(target, tables)
                verify(target, counts)
            return counts
    finally:
        source.close_all()
        target.close_all()


def copy_order(source):
    """The source's tables, each after the tables it references."""
    tables = [t for t in source.get_tables()
              if t != migrate.VERSION_TABLE and not t.startswith("sqlite_")]
    refs = {t: {fk.dest_table for fk in source.get_foreign_keys(t)} - {t}
            for t in tables}
    ordered = []
    while refs:
        ready = sorted(t for t, deps in refs.items()
                       if not deps - set(ordered))
        if not ready:
            raise CopyError("foreign keys form a cycle: %s"
                            % ", ".join(sorted(refs)))
        ordered.extend(ready)
        for table in ready:
            del refs[table]
    return ordered


def check_target(target, tables):
    """The target has every table and not one row in any of them."""
    present = set(target.get_tables())
    missing = [t for t in tables if t not in present]
    if missing:
        raise CopyError("the target has no table %s" % ", ".join(missing))
    for table in sorted(present - {migrate.VERSION_TABLE}):
        if target.execute_sql('SELECT 1 FROM "%s" LIMIT 1'
                              % table).fetchone():
            raise CopyError("the target is not empty: table %s has rows"
                            % table)


def column_types(target, table):
    cursor = target.execute_sql(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        (table,))
    return dict(cursor.fetchall())


def converter(data_type):
    """How a value SQLite returns becomes one PostgreSQL takes."""
    if data_type == "boolean":
        return lambda v: v if v is None else bool(v)
    if data_type == "bytea":
        import psycopg2
        return lambda v: v if v is None else psycopg2.Binary(v)
    return None


def copy_table(source, target, table):
    """Copy every row of ``table``; return how many."""
    import psycopg2
    from psycopg2.extras import execute_values
    types = column_types(target, table)
    columns = [c.name for c in source.get_columns(table)]
    extra = sorted(set(columns) ^ set(types))
    if extra:
        raise CopyError("table %s differs between the databases: %s"
                        % (table, ", ".join(extra)))
    convert = [(i, converter(types[c])) for i, c in enumerate(columns)]
    convert = [(i, f) for i, f in convert if f is not None]
    names = ", ".join('"%s"' % c for c in columns)
    reader = source.execute_sql('SELECT %s FROM "%s" ORDER BY rowid'
                                % (names, table))
    insert = 'INSERT INTO "%s" (%s) VALUES %%s' % (table, names)
    cursor = target.cursor()
    copied = 0
    while True:
        rows = reader.fetchmany(BATCH)
        if not rows:
            return copied
        if convert:
            rows = [list(row) for row in rows]
            for row in rows:
                for i, function in convert:
                    row[i] = function(row[i])
        try:
            execute_values(cursor, insert, rows, page_size=BATCH)
        except (ValueError, psycopg2.Error) as exc:
            # A NUL in a string (PostgreSQL has none), an id past its
            # integer: say where, and write nothing.
            raise CopyError("table %s: %s" % (table, str(exc).strip())) \
                from None
        copied += len(rows)


def reset_sequences(target, tables):
    """Move each id sequence past the highest copied id."""
    for table in tables:
        for column, _ in column_types(target, table).items():
            sequence = target.execute_sql(
                "SELECT pg_get_serial_sequence(%s, %s)",
                ('"%s"' % table, column)).fetchone()[0]
            if sequence:
                target.execute_sql(
                    'SELECT setval(%%s, COALESCE(MAX("%s"), 0) + 1, false) '
                    'FROM "%s"' % (column, table), (sequence,))


def verify(target, counts):
    for table, expected in counts.items():
        (found,), = target.execute_sql('SELECT COUNT(*) FROM "%s"'
                                       % table).fetchall()
        if found != expected:
            raise CopyError("table %s: %d rows copied, %d found"
                            % (table, expected, found))
