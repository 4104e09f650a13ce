"""Callbacks: how events leave ballast. Standard Webhooks signing, the guard against
internal targets (SSRF), and one delivery attempt over HTTP. The arq job that drives
deliveries and their retries lives in `workers/deliveries.py`."""
