output "endpoint" {
  description = "Base URL for clients: AZURE_OPENAI_ENDPOINT of the openai SDK, or the Locust host."
  value       = "https://${azurerm_function_app_flex_consumption.this.default_hostname}"
}

output "openai_v1_base_url" {
  description = "base_url for the openai SDK's OpenAI client (the /openai/v1 surface)."
  value       = "https://${azurerm_function_app_flex_consumption.this.default_hostname}/openai/v1/"
}

output "simulator_api_key" {
  description = "Key clients send as `api-key`. Hidden in plan/apply output; read it with `terraform output -raw simulator_api_key`."
  value       = random_password.api_key.result
  sensitive   = true
}

output "function_app_name" {
  description = "Function App name, for `func azure functionapp publish` and `az functionapp` commands."
  value       = azurerm_function_app_flex_consumption.this.name
}

output "resource_group_name" {
  description = "Resource group that holds the deployment."
  value       = local.resource_group_name
}

output "storage_account_name" {
  description = "Storage account (Entra ID only) with the recordings container and the tables."
  value       = azurerm_storage_account.this.name
}

output "recordings_container" {
  description = "Blob container of recordings, for `az storage blob upload-batch --auth-mode login`."
  value       = azurerm_storage_container.recordings.name
}

output "identity_client_id" {
  description = "Client ID of the app's user-assigned identity (AZURE_CLIENT_ID)."
  value       = azurerm_user_assigned_identity.this.client_id
}

output "application_insights_name" {
  description = "Application Insights resource that receives the app's telemetry."
  value       = azurerm_application_insights.this.name
}

output "dashboard_url" {
  description = "The simulator's live dashboard (it asks for the API key)."
  value       = "https://${azurerm_function_app_flex_consumption.this.default_hostname}/++/dashboard"
}

output "workbook_id" {
  description = "The Azure Monitor workbook with the same charts, on the Application Insights resource."
  value       = azurerm_application_insights_workbook.simulator.id
}
