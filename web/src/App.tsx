import { Navigate, Route, Routes } from "react-router-dom";
import { useSession } from "./auth/AuthProvider";
import { CallbackPage } from "./auth/CallbackPage";
import { SignInPage } from "./auth/SignInPage";
import { Loading } from "./components/States";
import { AlertsPage } from "./pages/AlertsPage";
import { DashboardPage } from "./pages/DashboardPage";
import { DeliveriesPage } from "./pages/DeliveriesPage";
import { DeviceDetailPage } from "./pages/DeviceDetailPage";
import { DevicesPage } from "./pages/DevicesPage";
import { EscalationPage } from "./pages/EscalationPage";
import { MaintenancePage } from "./pages/MaintenancePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { OnCallPage } from "./pages/OnCallPage";
import { RulesPage } from "./pages/RulesPage";
import { TenantsPage } from "./pages/TenantsPage";
import { HomeRedirect, RequireAccess } from "./shell/guards";
import { Shell } from "./shell/Shell";
import type { Access } from "./auth/roles";

const tenantUser = (access: Access) => access.isTenantUser;
const operator = (access: Access) => access.isOperator;

export function App() {
  const { state } = useSession();
  return (
    <Routes>
      <Route path="/callback" element={<CallbackPage />} />
      <Route
        path="*"
        element={
          state === "loading" ? (
            <Loading label="Checking your session…" />
          ) : state === "signed-in" ? (
            <SignedInRoutes />
          ) : (
            <SignInPage expired={state === "expired"} />
          )
        }
      />
    </Routes>
  );
}

function SignedInRoutes() {
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<HomeRedirect />} />
        <Route
          path="dashboard"
          element={
            <RequireAccess allowed={tenantUser} what="the tenant dashboard">
              <DashboardPage />
            </RequireAccess>
          }
        />
        <Route
          path="alerts"
          element={
            <RequireAccess allowed={tenantUser} what="the alerts of a tenant">
              <AlertsPage />
            </RequireAccess>
          }
        />
        <Route
          path="rules"
          element={
            <RequireAccess allowed={tenantUser} what="the alert rules of a tenant">
              <RulesPage />
            </RequireAccess>
          }
        />
        <Route
          path="devices"
          element={
            <RequireAccess allowed={tenantUser} what="the devices of a tenant">
              <DevicesPage />
            </RequireAccess>
          }
        />
        <Route
          path="oncall"
          element={
            <RequireAccess allowed={tenantUser} what="the on-call schedules of a tenant">
              <OnCallPage />
            </RequireAccess>
          }
        />
        <Route
          path="escalation"
          element={
            <RequireAccess allowed={tenantUser} what="the escalation policies of a tenant">
              <EscalationPage />
            </RequireAccess>
          }
        />
        <Route
          path="maintenance"
          element={
            <RequireAccess allowed={tenantUser} what="the maintenance windows of a tenant">
              <MaintenancePage />
            </RequireAccess>
          }
        />
        <Route
          path="notifications"
          element={
            <RequireAccess allowed={tenantUser} what="the notification channels of a tenant">
              <NotificationsPage />
            </RequireAccess>
          }
        />
        <Route
          path="deliveries"
          element={
            <RequireAccess allowed={tenantUser} what="the deliveries of a tenant">
              <DeliveriesPage />
            </RequireAccess>
          }
        />
        <Route
          path="devices/:deviceId"
          element={
            <RequireAccess allowed={tenantUser} what="the devices of a tenant">
              <DeviceDetailPage />
            </RequireAccess>
          }
        />
        <Route path="operator" element={<Navigate to="/operator/tenants" replace />} />
        <Route
          path="operator/tenants"
          element={
            <RequireAccess allowed={operator} what="the operator pages">
              <TenantsPage />
            </RequireAccess>
          }
        />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
