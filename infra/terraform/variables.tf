# ---------------------------------------------------------------------------------------------------------------
# Where
# ---------------------------------------------------------------------------------------------------------------

variable "subscription_id" {
  type        = string
  default     = null
  description = "Azure subscription to deploy into. Null: the provider reads ARM_SUBSCRIPTION_ID (or the Azure CLI's default)."
}

variable "name" {
  type        = string
  default     = "aoaisim"
  description = "Short name that prefixes every resource (a random suffix keeps global names unique)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name))
    error_message = "name must be 2-15 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "create_resource_group" {
  type        = bool
  default     = true
  description = "true: create resource_group_name in location. false: deploy into the existing resource group resource_group_name."
}

variable "resource_group_name" {
  type        = string
  default     = "rg-aoai-simulator"
  description = "Resource group to create, or the existing one to use (see create_resource_group)."

  validation {
    condition     = can(regex("^[-\\w.()]{1,89}[-\\w()]$", var.resource_group_name))
    error_message = "resource_group_name must be 1-90 characters: letters, digits, '-', '_', '.', '(' and ')', not ending with '.'."
  }
}

variable "location" {
  type        = string
  default     = null
  description = "Azure region (one that offers Flex Consumption, e.g. eastus, swedencentral). Required when create_resource_group is true; null otherwise means the existing group's region."

  validation {
    condition     = var.location != null || !var.create_resource_group
    error_message = "location is required when create_resource_group is true."
  }
}

variable "function_app_name" {
  type        = string
  default     = null
  description = "Function App name (becomes <name>.azurewebsites.net). Null: func-<name>-<suffix>."

  validation {
    condition     = var.function_app_name == null || can(regex("^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$", var.function_app_name))
    error_message = "function_app_name must be 2-32 characters: lowercase letters, digits and hyphens, not starting or ending with a hyphen."
  }
}

variable "storage_account_name" {
  type        = string
  default     = null
  description = "Storage account name. Null: st<name><suffix>, cut to 24 characters."

  validation {
    condition     = var.storage_account_name == null || can(regex("^[a-z0-9]{3,24}$", var.storage_account_name))
    error_message = "storage_account_name must be 3-24 lowercase letters and digits."
  }
}

variable "tags" {
  type        = map(string)
  default     = { workload = "aoai-simulator" }
  description = "Tags applied to every resource."
}

# ---------------------------------------------------------------------------------------------------------------
# Storage and monitoring
# ---------------------------------------------------------------------------------------------------------------

variable "storage_replication_type" {
  type        = string
  default     = "LRS"
  description = "Replication of the storage account. Recordings and limit state are reproducible, so LRS is enough."

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.storage_replication_type)
    error_message = "storage_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "package_container_name" {
  type        = string
  default     = "app-package"
  description = "Blob container that holds the Flex Consumption deployment package."

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$", var.package_container_name))
    error_message = "package_container_name must be a valid blob container name (3-63 lowercase letters, digits, single hyphens)."
  }
}

variable "responses_container_name" {
  type        = string
  default     = "responses"
  description = "Blob container of the Responses API's stored responses (RESPONSES_CONTAINER), shared by all instances."

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$", var.responses_container_name))
    error_message = "responses_container_name must be a valid blob container name (3-63 lowercase letters, digits, single hyphens)."
  }
}

variable "recordings_container_name" {
  type        = string
  default     = "recordings"
  description = "Blob container of YAML recordings (RECORDING_CONTAINER); upload edited recordings here."

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$", var.recordings_container_name))
    error_message = "recordings_container_name must be a valid blob container name (3-63 lowercase letters, digits, single hyphens)."
  }
}

variable "images_container_name" {
  type        = string
  default     = "images"
  description = "Blob container of images answered as URLs (SIMULATOR_IMAGE_CONTAINER), so every instance serves them."

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$", var.images_container_name))
    error_message = "images_container_name must be a valid blob container name (3-63 lowercase letters, digits, single hyphens)."
  }
}

variable "images_retention_days" {
  type        = number
  default     = 2
  description = "Days after which the storage lifecycle rule deletes image-URL blobs (keep it above SIMULATOR_IMAGE_URL_TTL_SECONDS)."

  validation {
    condition     = var.images_retention_days >= 1
    error_message = "images_retention_days must be at least 1 (the lifecycle rule counts whole days)."
  }
}

variable "table_names" {
  type = map(string)
  default = {
    rate_limits    = "ratelimits"
    runtime_config = "runtimeconfig"
    stats          = "simulatorstats"
  }
  description = "Tables to create, by purpose: rate_limits (limit state shared by all instances), runtime_config (changes made through /++/config), stats (each instance's /++/stats summary)."

  validation {
    condition     = alltrue([for table in values(var.table_names) : can(regex("^[A-Za-z][A-Za-z0-9]{2,62}$", table))])
    error_message = "Table names must be 3-63 letters and digits, starting with a letter."
  }
}

variable "log_retention_in_days" {
  type        = number
  default     = 30
  description = "Log Analytics retention in days."

  validation {
    condition     = var.log_retention_in_days >= 30 && var.log_retention_in_days <= 730
    error_message = "log_retention_in_days must be between 30 and 730."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Scale
# ---------------------------------------------------------------------------------------------------------------

variable "python_version" {
  type        = string
  default     = "3.11"
  description = "Python version of the Function App."

  validation {
    condition     = contains(["3.11", "3.12"], var.python_version)
    error_message = "python_version must be 3.11 or 3.12 (HTTP streaming needs PYTHON_ENABLE_INIT_INDEXING, set for <= 3.12)."
  }
}

variable "instance_memory_in_mb" {
  type        = number
  default     = 2048
  description = "Memory of each instance; CPU and network bandwidth grow with it."

  validation {
    condition     = contains([512, 2048, 4096], var.instance_memory_in_mb)
    error_message = "instance_memory_in_mb must be 512, 2048 or 4096."
  }
}

variable "maximum_instance_count" {
  type        = number
  default     = 100
  description = "Most instances the app scales out to. Limits are shared through Table Storage, so more instances do not raise a deployment's simulated TPM."

  validation {
    condition     = var.maximum_instance_count >= 1 && var.maximum_instance_count <= 1000 && floor(var.maximum_instance_count) == var.maximum_instance_count
    error_message = "maximum_instance_count must be a whole number from 1 to 1000."
  }
}

variable "http_concurrency" {
  type        = number
  default     = 32
  description = "Concurrent HTTP requests one instance takes before the platform adds another. The simulator is asynchronous and mostly waits (simulated latency), so it handles many at once; the platform's default for Python is far lower."

  validation {
    condition     = var.http_concurrency >= 1 && var.http_concurrency <= 1000 && floor(var.http_concurrency) == var.http_concurrency
    error_message = "http_concurrency must be a whole number from 1 to 1000."
  }
}

variable "always_ready_instances" {
  type        = number
  default     = 0
  description = "Instances kept warm for HTTP functions (billed while idle). 0: scale to zero, first request after idle pays a cold start."

  validation {
    condition     = var.always_ready_instances >= 0 && var.always_ready_instances <= var.maximum_instance_count
    error_message = "always_ready_instances must be between 0 and maximum_instance_count."
  }
}

# ---------------------------------------------------------------------------------------------------------------
# Simulator
# ---------------------------------------------------------------------------------------------------------------

variable "simulator_mode" {
  type        = string
  default     = "generate"
  description = "SIMULATOR_MODE: generate (synthetic answers), record (forward to azure_openai_endpoint and save) or replay (answer from recordings)."

  validation {
    condition     = contains(["generate", "record", "replay"], var.simulator_mode)
    error_message = "simulator_mode must be generate, record or replay."
  }

  validation {
    condition     = var.simulator_mode != "record" || var.azure_openai_endpoint != ""
    error_message = "simulator_mode = \"record\" needs azure_openai_endpoint."
  }
}

variable "azure_openai_endpoint" {
  type        = string
  default     = ""
  description = "AZURE_OPENAI_ENDPOINT: the real Azure OpenAI endpoint that record mode forwards to (https://<resource>.openai.azure.com/). Empty: none."

  validation {
    condition     = var.azure_openai_endpoint == "" || can(regex("^https://", var.azure_openai_endpoint))
    error_message = "azure_openai_endpoint must be empty or an https:// URL."
  }
}

variable "azure_openai_key" {
  type        = string
  default     = ""
  sensitive   = true
  description = "AZURE_OPENAI_KEY for azure_openai_endpoint. Empty: the app's identity authenticates with Entra ID (set azure_openai_resource_id)."
}

variable "azure_openai_resource_id" {
  type        = string
  default     = null
  description = "Resource ID of the real Azure OpenAI account. Set: the app's identity gets Cognitive Services OpenAI User on it (record mode without a key)."

  validation {
    condition     = var.azure_openai_resource_id == null || can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft.CognitiveServices/accounts/[^/]+$", var.azure_openai_resource_id))
    error_message = "azure_openai_resource_id must be a Microsoft.CognitiveServices/accounts resource ID."
  }
}

variable "simulator_admin_key" {
  type        = string
  default     = ""
  sensitive   = true
  description = "SIMULATOR_ADMIN_KEY: a separate key for the control endpoints under /++/ (runtime config, recordings, telemetry). Empty: the client key opens them too."
}

variable "simulator_settings" {
  type        = map(string)
  default     = {}
  description = "Overrides of simulator settings by environment variable name, e.g. { SIMULATOR_COMPLETION_TOKENS = \"50-150\", LOG_LEVEL = \"DEBUG\" }. See the settings table in the README."

  validation {
    condition = length(setintersection(keys(var.simulator_settings), [
      "SIMULATOR_MODE", "SIMULATOR_API_KEY", "SIMULATOR_ADMIN_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_KEY",
      "AZURE_STORAGE_ACCOUNT_URL", "AZURE_STORAGE_TABLE_URL", "AZURE_STORAGE_CONNECTION_STRING", "RECORDING_CONTAINER", "SIMULATOR_IMAGE_CONTAINER", "WEBSITE_HOSTNAME",
      "RESPONSES_CONTAINER", "RUNTIME_CONFIG_TABLE", "RATE_LIMIT_TABLE", "STATS_TABLE",
    ])) == 0
    error_message = "simulator_settings cannot set SIMULATOR_MODE, SIMULATOR_API_KEY, AZURE_OPENAI_* or storage settings: use their own variables (storage is wired to the resources Terraform creates; shared keys are disabled)."
  }
}

variable "extra_app_settings" {
  type        = map(string)
  default     = {}
  description = "Further app settings merged last (e.g. a platform setting, or a simulator setting newer than this Terraform). Not checked against the simulator's settings."
}
