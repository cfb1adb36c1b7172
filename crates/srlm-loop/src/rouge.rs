//! ROUGE-L F-measure, as Google's `rouge_score` computes it without stemming (the scorer
//! Self-Instruct and Alpaca filter new instructions with): lower-case, every run of characters
//! other than `a-z0-9` is a separator, then the longest common subsequence of the token lists.

/// `rouge_score`'s default tokenisation (no stemming).
pub fn rouge_tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Length of the longest common subsequence of two token lists.
fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    // One row of the dynamic programme at a time.
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            current[j + 1] = if x == y {
                previous[j] + 1
            } else {
                previous[j + 1].max(current[j])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// ROUGE-L F-measure of two token lists: `2PR / (P + R)` with `P = lcs/|a|`, `R = lcs/|b|`
/// (symmetric); 0 when either is empty.
pub fn rouge_l_tokens<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    let lcs = lcs_len(a, b);
    if lcs == 0 {
        return 0.0;
    }
    let precision = lcs as f64 / a.len() as f64;
    let recall = lcs as f64 / b.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// ROUGE-L F-measure of two texts.
pub fn rouge_l(a: &str, b: &str) -> f64 {
    rouge_l_tokens(&rouge_tokens(a), &rouge_tokens(b))
}

/// Tokenised texts to compare new ones against (seed prompts and prompts kept so far).
#[derive(Debug, Clone, Default)]
pub struct RougePool {
    texts: Vec<String>,
    tokens: Vec<Vec<String>>,
}

impl RougePool {
    /// An empty pool.
    pub fn new() -> Self {
        RougePool::default()
    }

    /// Adds a text.
    pub fn push(&mut self, text: &str) {
        self.texts.push(text.to_string());
        self.tokens.push(rouge_tokens(text));
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The most similar text in the pool and its ROUGE-L, if the pool is not empty.
    pub fn most_similar(&self, text: &str) -> Option<(&str, f64)> {
        let tokens = rouge_tokens(text);
        self.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (i, rouge_l_tokens(&tokens, t)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, score)| (self.texts[i].as_str(), score))
    }
}
