// The demo storefront's behaviour: a small catalogue, a cart kept in localStorage, and page renderers.
// Deliberately plain: the point of the shop is to be a realistic page for splitbeam to change and measure.
(function () {
  'use strict';

  var PRODUCTS = [
    { id: 'house-blend', name: 'House blend, 1 kg', price: 24.9, blurb: 'Chocolate, hazelnut and a long sweet finish. Our everyday espresso.' },
    { id: 'ethiopia-guji', name: 'Ethiopia Guji, 250 g', price: 14.5, blurb: 'Bergamot, peach and jasmine. Light roast for filter.' },
    { id: 'colombia-huila', name: 'Colombia Huila, 250 g', price: 12.9, blurb: 'Red apple, caramel, round body. Works in any brewer.' },
    { id: 'pour-over-kettle', name: 'Pour-over kettle', price: 49.0, blurb: 'Gooseneck, 0.9 l, steady thin pour for even extraction.' },
    { id: 'hand-grinder', name: 'Hand grinder', price: 89.0, blurb: 'Steel burrs, 40 click settings, from espresso to cold brew.' },
    { id: 'ceramic-dripper', name: 'Ceramic dripper', price: 22.0, blurb: 'Spiral ribs, single hole, holds heat for a stable brew.' }
  ];
  var CART_KEY = 'shop-cart';
  var ORDER_KEY = 'shop-last-order';

  function findProduct(id) {
    for (var i = 0; i < PRODUCTS.length; i++) if (PRODUCTS[i].id === id) return PRODUCTS[i];
    return null;
  }

  function euros(amount) {
    return '€' + amount.toFixed(2);
  }

  // localStorage can throw (private mode, quota, disabled storage): the shop then forgets the cart.
  function readJson(storage, key, fallback) {
    try {
      var text = storage.getItem(key);
      return text ? JSON.parse(text) : fallback;
    } catch (e) {
      return fallback;
    }
  }
  function writeJson(storage, key, value) {
    try { storage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage unavailable */ }
  }

  function cartLines() {
    var cart = readJson(localStorage, CART_KEY, {});
    var lines = [];
    for (var id in cart) {
      var product = findProduct(id);
      if (product && cart[id] > 0) lines.push({ product: product, quantity: cart[id] });
    }
    return lines;
  }
  function cartTotal(lines) {
    var total = 0;
    lines.forEach(function (line) { total += line.product.price * line.quantity; });
    return Math.round(total * 100) / 100;
  }
  function addToCart(id) {
    var cart = readJson(localStorage, CART_KEY, {});
    cart[id] = (cart[id] || 0) + 1;
    writeJson(localStorage, CART_KEY, cart);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function productCard(product) {
    var card = el('article', 'product-card');
    var link = el('a', 'product-card__link');
    link.href = 'product.html?id=' + encodeURIComponent(product.id);
    link.appendChild(el('div', 'product-card__image product-card__image--' + product.id));
    link.appendChild(el('h3', null, product.name));
    card.appendChild(link);
    card.appendChild(el('p', 'product-card__price', euros(product.price)));
    return card;
  }

  function renderProductList(container, products) {
    products.forEach(function (product) { container.appendChild(productCard(product)); });
  }

  function renderProductPage() {
    var id = new URLSearchParams(location.search).get('id');
    var product = findProduct(id) || PRODUCTS[0];
    document.title = product.name + ' · Beam & Bean';
    document.getElementById('product-name').textContent = product.name;
    document.getElementById('product-price').textContent = euros(product.price);
    document.getElementById('product-blurb').textContent = product.blurb;
    document.getElementById('product-image').className = 'product-page__image product-card__image--' + product.id;
    // The button's label belongs to the page (and to experiments changing it): only listen here.
    var button = document.querySelector('.add-to-cart');
    var status = document.getElementById('cart-status');
    button.addEventListener('click', function () {
      addToCart(product.id);
      status.hidden = false;
      updateCartCount();
    });
  }

  function renderCart() {
    var lines = cartLines();
    var body = document.getElementById('cart-lines');
    var empty = document.getElementById('cart-empty');
    var summary = document.getElementById('cart-summary');
    empty.hidden = lines.length > 0;
    summary.hidden = lines.length === 0;
    lines.forEach(function (line) {
      var row = el('tr');
      row.appendChild(el('td', null, line.product.name));
      row.appendChild(el('td', 'num', String(line.quantity)));
      row.appendChild(el('td', 'num', euros(line.product.price * line.quantity)));
      body.appendChild(row);
    });
    document.getElementById('cart-total').textContent = euros(cartTotal(lines));
  }

  function renderCheckout() {
    var lines = cartLines();
    var total = cartTotal(lines);
    document.getElementById('checkout-total').textContent = euros(total);
    document.getElementById('checkout-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var order = { id: 'order-' + Date.now().toString(36), total: total, tracked: false };
      writeJson(sessionStorage, ORDER_KEY, order);
      writeJson(localStorage, CART_KEY, {});
      location.href = 'thank-you.html';
    });
  }

  function renderThankYou() {
    var order = readJson(sessionStorage, ORDER_KEY, null);
    if (!order) return;
    document.getElementById('order-id').textContent = order.id;
    document.getElementById('order-total').textContent = euros(order.total);
    // A reload of this page must not count the purchase twice.
    if (order.tracked) return;
    var props = { value: order.total, currency: 'EUR' };
    var splitbeam = window.splitbeam;
    if (splitbeam && typeof splitbeam.track === 'function') splitbeam.track('purchase', props);
    else if (splitbeam) splitbeam.push(['track', 'purchase', props]); // the snippet has not loaded yet
    order.tracked = true;
    writeJson(sessionStorage, ORDER_KEY, order);
  }

  function updateCartCount() {
    var count = 0;
    cartLines().forEach(function (line) { count += line.quantity; });
    var badge = document.getElementById('cart-count');
    if (badge) badge.textContent = String(count);
  }

  var page = document.body.getAttribute('data-page');
  if (page === 'home') renderProductList(document.getElementById('featured'), PRODUCTS.slice(0, 3));
  if (page === 'products') renderProductList(document.getElementById('product-list'), PRODUCTS);
  if (page === 'product') renderProductPage();
  if (page === 'cart') renderCart();
  if (page === 'checkout') renderCheckout();
  if (page === 'thank-you') renderThankYou();
  updateCartCount();
})();
