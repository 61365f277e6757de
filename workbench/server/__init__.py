"""The Jupyter server extension: Workbench's REST API under ``<base_url>/workbench/api/``."""
