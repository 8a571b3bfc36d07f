"""A Locust kit that loads an Azure OpenAI-compatible endpoint and reports what a capacity plan needs: tokens per
minute, the share of 429 answers, and latency percentiles for whole responses and for the first streamed token."""
