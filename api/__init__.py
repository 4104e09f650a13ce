"""The HTTP front end: Balanced 1.1 wire format over aiohttp. Validates at the edge with
pydantic, runs each write in one PostgreSQL transaction through the domain (`ledger`),
then enqueues the jobs that transaction committed."""
