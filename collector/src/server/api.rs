//! The results API: `GET /api/experiments` (the list with exposure counts, leader and SRM alarm)
//! and `GET /api/experiments/{key}/results`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;

use super::error::ApiError;
use super::AppState;
use crate::results::{self, ExperimentResults};

#[derive(Serialize)]
pub struct ExperimentList {
    pub experiments: Vec<ExperimentSummary>,
}

#[derive(Serialize)]
pub struct ExperimentSummary {
    pub key: String,
    pub name: String,
    pub status: String,
    pub visitors: u64,
    pub variants: Vec<VariantSummary>,
    pub leading: Option<String>,
    pub srm_alarm: bool,
    /// Put away in the dashboard (`"archived": true`); the list shows it only on request.
    pub archived: bool,
}

#[derive(Serialize)]
pub struct VariantSummary {
    pub key: String,
    pub weight: f64,
    pub visitors: u64,
}

pub async fn experiments(State(state): State<Arc<AppState>>) -> Result<Json<ExperimentList>, ApiError> {
    let current = state.config.current();
    let store = state.store.clone();
    let keys: Vec<(String, Vec<String>)> =
        current.config.experiments.iter().map(|e| (e.key.clone(), e.funnel.clone())).collect();
    let totals = tokio::task::spawn_blocking(move || {
        keys.iter().map(|(key, funnel)| store.experiment_totals(key, funnel)).collect::<anyhow::Result<Vec<_>>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)?;

    let now = now_ms();
    let experiments = current
        .config
        .experiments
        .iter()
        .zip(totals)
        .map(|(exp, totals)| {
            let res = results::experiment_results(&exp.key, Some(exp), &totals, now);
            ExperimentSummary {
                key: exp.key.clone(),
                name: res.name.clone(),
                status: res.status.clone(),
                visitors: res.variants.iter().map(|v| v.visitors).sum(),
                variants: res
                    .variants
                    .iter()
                    .map(|v| VariantSummary { key: v.key.clone(), weight: v.weight, visitors: v.visitors })
                    .collect(),
                leading: results::leading_variant(&res),
                srm_alarm: res.srm.alarm,
                archived: current.archived.contains(&exp.key),
            }
        })
        .collect();
    Ok(Json(ExperimentList { experiments }))
}

pub async fn experiment_results(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
) -> Result<Json<ExperimentResults>, ApiError> {
    let current = state.config.current();
    // Only experiments of the live config have results: a key a caller invented has none, even
    // if events naming it were stored (they are kept for export, never aggregated).
    let Some(experiment) = current.config.experiments.iter().find(|e| e.key == key).cloned() else {
        return Err(ApiError::NotFound(format!("no experiment {key:?} in the config")));
    };
    let experiment = Some(experiment);
    let funnel = experiment.as_ref().map(|e| e.funnel.clone()).unwrap_or_default();
    let store = state.store.clone();
    let lookup = key.clone();
    let totals = tokio::task::spawn_blocking(move || store.experiment_totals(&lookup, &funnel))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)?;
    Ok(Json(results::experiment_results(&key, experiment.as_ref(), &totals, now_ms())))
}

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
