-- Argo CD health check for comprehend.operators.dev/DocumentClassifier.
-- Argo CD runs it with the live object as the global `obj` and reads the
-- returned {status = ..., message = ...}.
--   Healthy      Ready=True (TRAINED or TRAINED_WITH_WARNING)
--   Degraded     Ready=False for a reason that needs you: InError, Stopped,
--                InvalidSpec, AlreadyExists, NotFound, DeleteFailed, DeleteAbandoned,
--                or one that needs a cluster or AWS admin: NoAccountMapping (the
--                operator requires an AccountMapping for the namespace),
--                AccountMappingChanged (the model is in another account than the
--                namespace maps to now), CredentialsUnavailable (the mapped role
--                could not be assumed)
--   Progressing  everything else: no status yet, a status the operator wrote
--                for an older generation, Ready=Unknown (Creating, Submitted,
--                Training, StopRequested, Throttled, AwsUnavailable) or
--                Ready=False while the model is being deleted (Deleting)
local hs = {}

local degraded_reasons = {
  InError = true,
  Stopped = true,
  InvalidSpec = true,
  AlreadyExists = true,
  NotFound = true,
  DeleteFailed = true,
  DeleteAbandoned = true,
  NoAccountMapping = true,
  AccountMappingChanged = true,
  CredentialsUnavailable = true,
}

local function find_condition(conditions, type_)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local function describe(c)
  local text = c.reason or c.type
  if c.message ~= nil and c.message ~= "" and c.message ~= c.reason then
    text = text .. ": " .. c.message
  end
  return text
end

local status = obj.status
if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the classifier"
  return hs
end

local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local observed = status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    .. " (status is for generation " .. tostring(observed) .. ")"
  return hs
end

local ready = find_condition(status.conditions, "Ready")
-- Present only while a spec edit made after training started is ignored:
-- it changes no health, but it is worth saying.
local ignored = find_condition(status.conditions, "SpecChangeIgnored")

local function with_ignored(text)
  if ignored ~= nil and ignored.status == "True" then
    return text .. "; " .. describe(ignored)
  end
  return text
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = with_ignored(describe(ready))
  return hs
end

if ready ~= nil and ready.status == "False" and degraded_reasons[ready.reason] then
  hs.status = "Degraded"
  hs.message = with_ignored(describe(ready))
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = with_ignored(describe(ready))
elseif status.status ~= nil then
  hs.message = "Classifier " .. tostring(status.status)
else
  hs.message = "Waiting for the operator to create the classifier"
end
return hs
