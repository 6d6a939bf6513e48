//! Every DOM change of a variant as a record that applies itself and can revert: `apply(change, el)`
//! returns an `Applied` that knows what the element looked like before, can tell whether the page
//! has since overwritten the change (`holds`), re-apply only what was lost, and `revert()`.

use splitbeam_core::config::{Change, Move};
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Node};

/// One change applied to one element: the element plus an undo record per operation.
pub struct Applied {
    pub element: Element,
    ops: Vec<Op>,
}

/// An operation as applied, with what it replaced (the "original" the revert restores).
enum Op {
    /// The original child nodes themselves are kept: reverting restores markup, and the page's own
    /// references and listeners on them stay valid.
    Text { original: Vec<Node>, wanted: String },
    /// `shown` is `innerHTML` read back after setting it: browsers normalise markup.
    Html { original: Vec<Node>, wanted: String, shown: String },
    Attr { name: String, original: Option<String>, wanted: String },
    AddClass { classes: Vec<String>, added: Vec<String> },
    RemoveClass { classes: Vec<String>, removed: Vec<String> },
    Style { original: Option<String>, wanted: String, shown: Option<String> },
    /// `remove` and `move` both take the element out of its place; revert puts it back there.
    Place { parent: Option<Node>, next: Option<Node>, wanted: Placement },
}

enum Placement {
    Removed,
    Moved(Move),
}

/// Applies every element-level operation of `change` to `element`.
pub fn apply(change: &Change, element: &Element) -> Applied {
    let mut ops = Vec::new();
    if let Some(text) = &change.text {
        ops.push(Op::Text { original: Vec::new(), wanted: text.clone() });
    }
    if let Some(html) = &change.html {
        ops.push(Op::Html { original: Vec::new(), wanted: html.clone(), shown: String::new() });
    }
    for (name, value) in &change.attr {
        ops.push(Op::Attr { name: name.clone(), original: None, wanted: value.clone() });
    }
    if let Some(classes) = &change.add_class {
        ops.push(Op::AddClass { classes: words(classes), added: Vec::new() });
    }
    if let Some(classes) = &change.remove_class {
        ops.push(Op::RemoveClass { classes: words(classes), removed: Vec::new() });
    }
    if let Some(style) = &change.style {
        ops.push(Op::Style { original: None, wanted: style.clone(), shown: None });
    }
    if change.remove {
        ops.push(Op::Place { parent: None, next: None, wanted: Placement::Removed });
    } else if let Some(to) = &change.move_to {
        ops.push(Op::Place { parent: None, next: None, wanted: Placement::Moved(to.clone()) });
    }
    for op in &mut ops {
        op.apply(element);
    }
    Applied { element: element.clone(), ops }
}

impl Applied {
    /// Whether every operation is still in effect (a framework may have re-rendered the element).
    pub fn holds(&self) -> bool {
        self.ops.iter().all(|op| op.holds(&self.element))
    }

    /// Re-applies the operations the page undid; what the page put there becomes the new original.
    pub fn reapply(&mut self) {
        for op in &mut self.ops {
            if !op.holds(&self.element) {
                op.apply(&self.element);
            }
        }
    }

    /// Restores the element as it was before the change (latest original), in reverse order.
    pub fn revert(self) {
        for op in self.ops.into_iter().rev() {
            op.revert(&self.element);
        }
    }
}

impl Op {
    fn apply(&mut self, el: &Element) {
        match self {
            Op::Text { original, wanted } => {
                *original = children(el);
                el.set_text_content(Some(wanted));
            }
            Op::Html { original, wanted, shown } => {
                *original = children(el);
                el.set_inner_html(wanted);
                *shown = el.inner_html();
            }
            Op::Attr { name, original, wanted } => {
                *original = el.get_attribute(name);
                let _ = el.set_attribute(name, wanted);
            }
            Op::AddClass { classes, added } => {
                let list = el.class_list();
                for class in classes.iter() {
                    if !list.contains(class) && list.add_1(class).is_ok() && !added.contains(class) {
                        added.push(class.clone());
                    }
                }
            }
            Op::RemoveClass { classes, removed } => {
                let list = el.class_list();
                for class in classes.iter() {
                    if list.contains(class) && list.remove_1(class).is_ok() && !removed.contains(class) {
                        removed.push(class.clone());
                    }
                }
            }
            Op::Style { original, wanted, shown } => {
                *original = el.get_attribute("style");
                // Appended, so the variant's declarations win over the element's own inline style.
                let style = match original.as_deref() {
                    Some(own) if !own.trim().is_empty() => [own, ";", wanted].concat(),
                    _ => wanted.clone(),
                };
                let _ = el.set_attribute("style", &style);
                *shown = el.get_attribute("style");
            }
            Op::Place { parent, next, wanted } => {
                *parent = el.parent_node();
                *next = el.next_sibling();
                match wanted {
                    Placement::Removed => el.remove(),
                    Placement::Moved(to) => {
                        if let Some(target) = move_target(to).and_then(|t| document().query_selector(t).ok().flatten()) {
                            // Never move an element into itself or its own subtree (a DOM exception).
                            if !el.contains(Some(&target)) {
                                let _ = match to {
                                    Move::Before(_) => target.before_with_node_1(el),
                                    Move::After(_) => target.after_with_node_1(el),
                                    Move::Into(_) => target.append_with_node_1(el),
                                };
                            }
                        }
                    }
                }
            }
        }
    }

    fn holds(&self, el: &Element) -> bool {
        match self {
            Op::Text { wanted, .. } => el.text_content().as_deref() == Some(wanted.as_str()),
            Op::Html { shown, .. } => el.inner_html() == *shown,
            Op::Attr { name, wanted, .. } => el.get_attribute(name).as_deref() == Some(wanted.as_str()),
            Op::AddClass { classes, .. } => classes.iter().all(|c| el.class_list().contains(c)),
            Op::RemoveClass { classes, .. } => !classes.iter().any(|c| el.class_list().contains(c)),
            Op::Style { shown, .. } => el.get_attribute("style") == *shown,
            Op::Place { wanted: Placement::Removed, .. } => !el.is_connected(),
            Op::Place { wanted: Placement::Moved(to), .. } => {
                let Some(target) = move_target(to).and_then(|t| document().query_selector(t).ok().flatten()) else {
                    // Nothing to move next to (yet): holding, so the target's absence causes no churn.
                    return true;
                };
                let placed = match to {
                    Move::Before(_) => el.next_element_sibling(),
                    Move::After(_) => el.previous_element_sibling(),
                    Move::Into(_) => el.parent_element(),
                };
                placed.as_ref() == Some(&target) || el.contains(Some(&target))
            }
        }
    }

    fn revert(self, el: &Element) {
        match self {
            Op::Text { original, .. } | Op::Html { original, .. } => {
                el.set_text_content(None);
                for node in original {
                    let _ = el.append_child(&node);
                }
            }
            Op::Attr { name, original, .. } => {
                let _ = match original {
                    Some(value) => el.set_attribute(&name, &value),
                    None => el.remove_attribute(&name),
                };
            }
            Op::AddClass { added, .. } => {
                for class in added {
                    let _ = el.class_list().remove_1(&class);
                }
            }
            Op::RemoveClass { removed, .. } => {
                for class in removed {
                    let _ = el.class_list().add_1(&class);
                }
            }
            Op::Style { original, .. } => {
                let _ = match original {
                    Some(style) => el.set_attribute("style", &style),
                    None => el.remove_attribute("style"),
                };
            }
            Op::Place { parent: Some(parent), next, .. } => {
                // The old next sibling may have left too; then the end of the old parent is the best place.
                let next = next.filter(|n| n.parent_node().as_ref() == Some(&parent));
                let _ = parent.insert_before(el, next.as_ref());
            }
            Op::Place { parent: None, .. } => {}
        }
    }
}

/// A page-level `css` change: a `<style>` element in `<head>`, removed on revert.
pub struct PageCss(Element);

impl PageCss {
    pub fn apply(css: &str, experiment: &str) -> Option<PageCss> {
        let doc = document();
        let style = doc.create_element("style").ok()?;
        let _ = style.set_attribute("data-splitbeam", experiment);
        style.set_text_content(Some(css));
        let parent: Node = match doc.query_selector("head").ok().flatten() {
            Some(head) => head.into(),
            None => doc.document_element()?.into(),
        };
        parent.append_child(&style).ok()?;
        Some(PageCss(style))
    }

    pub fn revert(self) {
        self.0.remove();
    }
}

/// The elements a selector matches now; an invalid selector matches nothing (the config reader
/// already reported it).
pub fn select(selector: &str) -> Vec<Element> {
    let Ok(list) = document().query_selector_all(selector) else {
        return Vec::new();
    };
    (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<Element>().ok()).collect()
}

fn move_target(to: &Move) -> Option<&str> {
    match to {
        Move::Before(s) | Move::After(s) | Move::Into(s) => Some(s.as_str()).filter(|s| !s.is_empty()),
    }
}

fn children(el: &Element) -> Vec<Node> {
    let list = el.child_nodes();
    (0..list.length()).filter_map(|i| list.item(i)).collect()
}

fn words(classes: &str) -> Vec<String> {
    classes.split_whitespace().map(str::to_string).collect()
}

pub fn document() -> Document {
    // The snippet only ever runs in a window with a document; the loader checked.
    web_sys::window().and_then(|w| w.document()).expect("splitbeam runs in a page with a document")
}
