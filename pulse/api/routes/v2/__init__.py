"""/api/v2: read-only fleet data of the caller's tenant (roles customer and tenant-admin)."""
