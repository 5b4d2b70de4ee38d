"""Pure models over plain data (no files, no store): similarity, timeline, pricing, compliance."""
