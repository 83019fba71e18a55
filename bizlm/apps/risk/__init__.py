"""The financial risk monitor: topic and sentiment over a news stream, negative-surge alerts.

Items arrive over HTTP, from a drop folder or a replayed file; each is stored once (by id) with
personal data masked, classified in batches, counted per topic and time window, and watched by
surge detectors whose alerts go to the stored list, a log and webhooks (through an outbox).
"""
