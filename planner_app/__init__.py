"""The planner's data layer: tables, migrations, rules and commands."""
