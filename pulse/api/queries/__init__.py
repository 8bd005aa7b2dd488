"""Read models and SQL shared by the /api/v2, /customer and /operator routers. Every function takes a
connection the caller opened (tenant_tx or operator_tx) and filters by tenant explicitly too, which
lets the planner use the (tenant_id, …) indexes; row-level security still decides what is visible."""
