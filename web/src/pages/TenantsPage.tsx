import { Table, Text } from "@mantine/core";
import { useTenants } from "../api/queries";
import { StatusBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { PageHeader } from "./PageHeader";

/** Operators: every tenant (each operator read is audited by the API). */
export function TenantsPage() {
  const tenants = useTenants();
  return (
    <>
      <PageHeader title="Tenants" />
      {tenants.isPending ? (
        <Loading label="Loading tenants…" />
      ) : tenants.isError ? (
        <ErrorState error={tenants.error} onRetry={() => void tenants.refetch()} />
      ) : tenants.data.tenants.length === 0 ? (
        <Empty title="No tenants yet">Tenants created with the admin API or `pulse` appear here.</Empty>
      ) : (
        <>
          <Text size="sm" c="dimmed" mb="xs">
            {tenants.data.total} tenant{tenants.data.total === 1 ? "" : "s"}
          </Text>
          <Table striped highlightOnHover aria-label="Tenants">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Tenant</Table.Th>
                <Table.Th>Name</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Contact</Table.Th>
                <Table.Th>Created</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {tenants.data.tenants.map((tenant) => (
                <Table.Tr key={tenant.tenant_id}>
                  <Table.Td>{tenant.tenant_id}</Table.Td>
                  <Table.Td>{tenant.name}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={tenant.status} />
                  </Table.Td>
                  <Table.Td>{tenant.contact_email ?? tenant.contact_name ?? "—"}</Table.Td>
                  <Table.Td>
                    <TimeText iso={tenant.created_at} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </>
  );
}
