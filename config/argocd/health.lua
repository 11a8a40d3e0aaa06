-- Argo CD health check for comprehend.operators.dev/ClassificationJob.
-- Argo CD runs it with the live object as the global `obj` and reads the
-- returned {status = ..., message = ...}.
--   Healthy      Succeeded=True (the job COMPLETED)
--   Degraded     Succeeded=False (failed, stopped, invalid spec, job gone), or
--                Ready=False while the job runs (the spec was changed after the
--                job started and is ignored)
--   Progressing  everything else: no status yet, a status the operator wrote
--                for an older generation, or Succeeded=Unknown (Queued,
--                Starting, Submitted, InProgress, Throttled, ...)
local hs = {}

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
  hs.message = "Waiting for the operator to pick up the job"
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

local succeeded = find_condition(status.conditions, "Succeeded")
local ready = find_condition(status.conditions, "Ready")

if succeeded ~= nil and succeeded.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(succeeded)
  if ready ~= nil and ready.status == "False" then
    -- Done; a later spec change was ignored: say so, the result stands.
    hs.message = hs.message .. "; " .. describe(ready)
  end
  return hs
end

if succeeded ~= nil and succeeded.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(succeeded)
  return hs
end

if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end

hs.status = "Progressing"
if succeeded ~= nil then
  hs.message = describe(succeeded)
elseif status.jobStatus ~= nil then
  hs.message = "Job " .. tostring(status.jobStatus)
else
  hs.message = "Waiting for the operator to start the job"
end
return hs
