//! Choosing tokens on the device against the host rules ([`srlm_model::sample`]): greedy, the
//! top-k and nucleus cuts, the drawn distribution, and the token one draw gives. Evenly spaced
//! uniform draws make the inverse-CDF counts exact: token j is drawn `N · p_j` times, ± 1.

use srlm_model::burn::tensor::{Tensor, TensorData};
use srlm_model::{argmax, sample_on_device, SamplingParams};

use crate::common::device;

fn logits(rows: &[Vec<f32>]) -> Tensor<2> {
    let vocab = rows[0].len();
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_data(TensorData::new(flat, [rows.len(), vocab]), &device())
}

fn params(temperature: f32, top_p: f32, top_k: usize) -> SamplingParams {
    SamplingParams {
        temperature,
        top_p,
        top_k,
    }
}

/// How often each token is drawn from one row over `n` evenly spaced uniforms.
fn counts(row: &[f32], p: &SamplingParams, n: usize) -> Vec<usize> {
    let rows = vec![row.to_vec(); n];
    let uniforms: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    let ids = sample_on_device(logits(&rows), p, &uniforms).unwrap();
    let mut seen = vec![0; row.len()];
    ids.into_iter().for_each(|id| seen[id as usize] += 1);
    seen
}

/// The host rules' probabilities: softmax over the top k, truncated to the nucleus, renormalised.
fn host_probs(row: &[f32], p: &SamplingParams) -> Vec<f64> {
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
    if p.top_k > 0 {
        order.truncate(p.top_k);
    }
    let max = f64::from(row[order[0]] / p.temperature);
    let e: Vec<f64> = order
        .iter()
        .map(|&i| (f64::from(row[i] / p.temperature) - max).exp())
        .collect();
    let total: f64 = e.iter().sum();
    let (mut kept, mut cumulative) = (0, 0.0);
    for x in &e {
        if cumulative >= f64::from(p.top_p) {
            break;
        }
        cumulative += x / total;
        kept += 1;
    }
    let kept_total: f64 = e[..kept].iter().sum();
    let mut probs = vec![0.0; row.len()];
    for (k, &i) in order[..kept].iter().enumerate() {
        probs[i] = e[k] / kept_total;
    }
    probs
}

fn assert_matches_host(row: &[f32], p: SamplingParams) {
    let n = 2000;
    let seen = counts(row, &p, n);
    let expected = host_probs(row, &p);
    for (j, (&c, &q)) in seen.iter().zip(&expected).enumerate() {
        let want = q * n as f64;
        assert!(
            (c as f64 - want).abs() <= 2.0,
            "token {j}: drawn {c} times, the host rules give {want:.1} ({p:?}, {seen:?})"
        );
    }
}

#[test]
fn greedy_is_the_argmax_of_each_row() {
    let rows = vec![
        vec![0.1, 3.0, 2.0, -1.0, 0.5],
        vec![-4.0, -3.0, -5.0, -2.5, -9.0],
        vec![7.0, 1.0, 1.0, 1.0, 6.9],
    ];
    let ids = sample_on_device(logits(&rows), &SamplingParams::default(), &[]).unwrap();
    let want: Vec<u32> = rows.iter().map(|r| argmax(r) as u32).collect();
    assert_eq!(ids, want);
}

#[test]
fn top_k_one_is_greedy() {
    let rows = vec![vec![0.0, 0.5, 0.4, 0.45], vec![2.0, -1.0, 3.0, 0.0]];
    let ids = sample_on_device(logits(&rows), &params(1.0, 1.0, 1), &[0.99, 0.01]).unwrap();
    assert_eq!(ids, vec![1, 2]);
}

#[test]
fn draws_follow_the_host_rules() {
    // Distinct values: the host keeps exactly k of tied logits, the device all of the tie.
    let row: Vec<f32> = (0..37)
        .map(|i| (i as f32 * 0.731).sin() * 3.0 + i as f32 * 1e-3)
        .collect();
    assert_matches_host(&row, params(1.0, 1.0, 0));
    assert_matches_host(&row, params(0.7, 1.0, 0));
    assert_matches_host(&row, params(1.0, 0.9, 0));
    assert_matches_host(&row, params(1.0, 1.0, 5));
    assert_matches_host(&row, params(0.8, 0.6, 12));
}

#[test]
fn top_k_keeps_every_token_tied_with_the_kth() {
    let seen = counts(&[1.0, 1.0, 0.0], &params(1.0, 1.0, 1), 100);
    assert_eq!(seen, vec![50, 50, 0]);
}

#[test]
fn nucleus_cuts_the_tail() {
    // Probabilities ≈ 0.64, 0.24, 0.09, 0.03: top_p 0.8 keeps the first two only.
    let seen = counts(&[3.0, 2.0, 1.0, 0.0], &params(1.0, 0.8, 0), 1000);
    assert_eq!(seen[2] + seen[3], 0, "{seen:?}");
    assert_matches_host(&[3.0, 2.0, 1.0, 0.0], params(1.0, 0.8, 0));
    // A row whose most likely token alone reaches top_p keeps only that token.
    let seen = counts(&[9.0, 0.0, 0.0, 0.0], &params(1.0, 0.5, 0), 200);
    assert_eq!(seen[0], 200, "{seen:?}");
}

#[test]
fn wrong_number_of_draws_is_an_error() {
    let rows = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
    let err = sample_on_device(logits(&rows), &params(1.0, 1.0, 0), &[0.5]).unwrap_err();
    assert!(
        err.to_string().contains("1 uniform draws for 2 rows"),
        "{err}"
    );
}

#[test]
fn one_draw_gives_the_host_token() {
    // Both paths look the draw up over the kept tokens in id order, so the same uniform picks
    // the same token (top-k aside, where the device keeps every token tied with the k-th).
    use srlm_model::burn::tensor::Distribution;
    use srlm_model::{sample, sequence_rng};
    let (rows, vocab) = (300, 257);
    let scores: Tensor<2> =
        Tensor::random([rows, vocab], Distribution::Normal(0.0, 2.0), &device());
    let scores = scores.try_into_vec_as::<f32>().unwrap();
    for p in [
        params(1.0, 1.0, 0),
        params(0.7, 0.9, 0),
        params(1.3, 0.5, 0),
    ] {
        let mut streams: Vec<_> = (0..rows).map(|r| sequence_rng(4, r)).collect();
        let uniforms: Vec<f64> = streams
            .iter()
            .map(|s| rand::Rng::random::<f64>(&mut s.clone()))
            .collect();
        let rows_logits: Vec<Vec<f32>> = scores.chunks(vocab).map(<[f32]>::to_vec).collect();
        let on_device = sample_on_device(logits(&rows_logits), &p, &uniforms).unwrap();
        let on_host: Vec<u32> = rows_logits
            .iter()
            .zip(&mut streams)
            .map(|(row, stream)| sample(row, &p, stream))
            .collect();
        let differ = on_device
            .iter()
            .zip(&on_host)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(differ, 0, "{p:?}: {differ} of {rows} rows");
    }
}
