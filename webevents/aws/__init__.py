"""The deployed stack and its tooling: outputs, schema migration, adoption after a delete,
the smoke test, the template as data, the browser endpoint's request contract."""
