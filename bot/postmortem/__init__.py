"""The post-incident draft: every fact statusbot saw, rendered from a sandboxed Jinja2 template, with a chart."""
