"""/customer: the caller's tenant. Reads need `customer`, every change needs `tenant-admin`."""
