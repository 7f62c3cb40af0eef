"""The relay core: endpoints, pumps, the multi-session engine, serving strategies, the runtime."""
