// The model catalogue (GET /models), loaded once: names for ids, and each model's training defaults.
const models = new Map();

export function setCatalog(list) {
  models.clear();
  for (const model of list) if (model?.model_id) models.set(model.model_id, model);
}

export function modelName(modelId) {
  return models.get(modelId)?.name ?? modelId;
}

export function modelDefaults(modelId) {
  return models.get(modelId)?.defaults ?? {};
}
