"""arq workers: submit transfers to the rail, apply the rail's outcomes, deliver callbacks,
and sweep the outbox for work whose queue entry was lost."""
