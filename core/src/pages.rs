//! Page rules: which URLs an experiment (or a pageview goal) applies to.

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRules {
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    Glob(String),
    Regex(String),
}
