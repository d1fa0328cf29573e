"""The scan history: every `scan` and `local` run remembered, in an embedded
SQLite file by default and in PostgreSQL for a team.

`location` turns `--history URL` into a store (and shows it without a
password), `schema` holds the tables and the migrations that build them on
either database, `store` records a run and reads runs back (`stored_result`:
the whole result, compressed as it is written, in parts), `trends` turns
the runs of one scope into what an auditor asks (open findings over time,
time to fix, what is past its fix deadline) and `recording` is what a
command does with its result: the run's history, then the record.

May import the model, `result_io`, the assessment (the baseline comparison,
scopes) and support; never the CLI, outputs or formats, which read it.
SQLAlchemy is imported here only, so that a command that keeps no history
(`--help`, `rules`) never pays for it.
"""
