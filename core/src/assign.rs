//! The assignment decision, step by step.
pub struct Visitor;
pub struct Decision;
pub enum Reason {}
pub fn assign() {}
