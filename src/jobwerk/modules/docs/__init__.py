"""Documentation scraper: crawl a docs site, extract its content, export Markdown/JSON/HTML/PDF."""
