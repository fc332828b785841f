"""The pure domain: the law (the rule book, judgements, school types), calendars and terms, the
authority's policy (categories, meetings, the diary) and letters as data. Plain Python: no database,
templates, web or Prefect (the `pure-domain` import contract)."""
