-- splitbeam's SQLite schema. Raw events are kept verbatim for export; the other tables are
-- running aggregates kept in step with them in the same transaction, so that a results query
-- reads a few rows per variant instead of scanning millions of events.

-- Every event once (the id is the primary key: a resent batch is ignored).
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    ts INTEGER NOT NULL,
    visitor TEXT NOT NULL,
    session TEXT NOT NULL,
    url TEXT NOT NULL,
    experiment TEXT,
    variant TEXT,
    goal TEXT,
    value REAL,
    body TEXT NOT NULL,
    -- 0: stored for export only (an experiment or variant the config does not name, or a bot).
    counted INTEGER NOT NULL DEFAULT 1,
    bot INTEGER NOT NULL DEFAULT 0
);
-- A visitor's events in time order: export.
CREATE INDEX IF NOT EXISTS events_by_visitor ON events (visitor, ts);
-- A visitor's counted goals in time order: re-deriving one visitor's contribution reads at most
-- MAX_COUNTED_GOALS of them, however many uncounted events the visitor has.
CREATE INDEX IF NOT EXISTS counted_goals_by_visitor ON events (visitor, ts) WHERE type = 'goal' AND counted = 1;

-- Visitors exposed to an experiment whose exposures were not counted because they were bots.
CREATE TABLE IF NOT EXISTS bot_exposures (
    experiment TEXT NOT NULL,
    visitor TEXT NOT NULL,
    PRIMARY KEY (experiment, visitor)
) WITHOUT ROWID;

-- The first exposure of each visitor to each experiment (it decides the variant), and the
-- funnel depth the visitor reached under the registered funnel.
CREATE TABLE IF NOT EXISTS exposures (
    experiment TEXT NOT NULL,
    visitor TEXT NOT NULL,
    variant TEXT NOT NULL,
    first_ts INTEGER NOT NULL,
    funnel_depth INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment, visitor)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS exposures_by_visitor ON exposures (visitor);

-- Goals each exposed visitor converted on after their first exposure, with the summed value.
CREATE TABLE IF NOT EXISTS conversions (
    experiment TEXT NOT NULL,
    visitor TEXT NOT NULL,
    goal TEXT NOT NULL,
    value_sum REAL NOT NULL,
    PRIMARY KEY (experiment, visitor, goal)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS variant_totals (
    experiment TEXT NOT NULL,
    variant TEXT NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (experiment, variant)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS goal_totals (
    experiment TEXT NOT NULL,
    variant TEXT NOT NULL,
    goal TEXT NOT NULL,
    conversions INTEGER NOT NULL,
    value_sum REAL NOT NULL,
    value_sum_sq REAL NOT NULL,
    PRIMARY KEY (experiment, variant, goal)
) WITHOUT ROWID;

-- Visitors whose funnel depth is exactly `depth` (>= 1); step k = visitors with depth >= k.
CREATE TABLE IF NOT EXISTS funnel_totals (
    experiment TEXT NOT NULL,
    variant TEXT NOT NULL,
    depth INTEGER NOT NULL,
    visitors INTEGER NOT NULL,
    PRIMARY KEY (experiment, variant, depth)
) WITHOUT ROWID;

-- The funnel (goal keys as a JSON array) that funnel_depth and funnel_totals were built for.
CREATE TABLE IF NOT EXISTS funnels (
    experiment TEXT PRIMARY KEY,
    steps TEXT NOT NULL
);
