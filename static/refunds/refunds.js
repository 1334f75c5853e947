// Progressive help only: the server computes, checks and saves the rate and the amount of every line.
//
// « Ajouter ligne de demande »: as the product and the quantity are typed, the line's rate and amount appear
// (« Taux : 14,96 €/hl – Montant : 149,60 € »), and the request's total with this line. The rates of the year
// come from the page (json_script « taux-de-l-annee »: product id → rate, invoice units per rate unit, rate as
// published); the amount is quantity / units × rate, rounded half up to the cent, as refunds.models does. The
// arithmetic is done on whole numbers (BigInt), so that no binary fraction turns 0,005 € into 0,00 €.
//
// The visible text changes at each key; screen readers hear a hidden copy of it (the live region), written
// once typing pauses (LIVE_DELAY), so that « 1 », « 10 », « 100 »… are not each read out.

const LIVE_DELAY = 600; // milliseconds after the last key
const form = document.querySelector("[data-refund-line]");
const ratesScript = document.getElementById("taux-de-l-annee");

// « 1 000,50 » → { digits: 100050n, scale: 2 }; null for anything the server would refuse.
const parseDecimal = (text, maxWhole = Infinity, maxScale = Infinity) => {
  const compact = String(text).replace(/[\s\u00a0\u202f]+/g, "").replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(compact)) return null;
  let [whole, decimals = ""] = compact.split(".");
  decimals = decimals.replace(/0+$/, ""); // « 12,340 » is 12,34
  whole = whole.replace(/^0+(?=\d)/, "");
  if (whole.length > maxWhole || decimals.length > maxScale) return null;
  return { digits: BigInt(whole + decimals), scale: decimals.length };
};

const TEN = 10n;
const power = (exponent) => TEN ** BigInt(exponent);

// quantity / units × rate, in cents, rounded half up (every number here is positive).
const amountInCents = (quantity, units, rate) => {
  const numerator = quantity.digits * rate.digits * power(units.scale) * 100n;
  const denominator = units.digits * power(quantity.scale + rate.scale);
  return (2n * numerator + denominator) / (2n * denominator);
};

const toCents = (value) => value.digits * 100n / power(value.scale);

// 1234560n → « 12 345,60 € », as the server's `euros` filter writes it.
const euros = (cents) => {
  const whole = (cents / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
  const rest = (cents % 100n).toString().padStart(2, "0");
  return `${whole},${rest}\u00a0€`;
};

if (form && ratesScript) {
  const rates = JSON.parse(ratesScript.textContent);
  const product = form.querySelector("select[name=product]");
  const quantity = form.querySelector("input[name=quantity]");
  const region = form.querySelector("[data-line-amount]");
  const text = region && region.querySelector("[data-line-amount-text]");
  const total = region && region.querySelector("[data-line-amount-total]");
  const live = region && region.querySelector("[data-line-amount-live]");
  const otherLines = region && parseDecimal(region.dataset.otherLines || "0");

  const show = () => {
    const rate = rates[product.value];
    if (!rate) {
      text.textContent = "";
      total.textContent = "";
      return;
    }
    const typed = parseDecimal(quantity.value, 8, 2);
    if (!typed || typed.digits === 0n) {
      text.textContent = `Taux : ${rate.display}`;
      total.textContent = "";
      return;
    }
    const cents = amountInCents(typed, parseDecimal(rate.units), parseDecimal(rate.rate));
    text.textContent = `Taux : ${rate.display} – Montant : ${euros(cents)}`;
    total.textContent = otherLines ? `Total de la demande avec cette ligne : ${euros(toCents(otherLines) + cents)}` : "";
  };

  let pending = null;
  const announce = () => {
    pending = null;
    const said = [text.textContent, total.textContent].filter(Boolean).join(". ");
    if (live.textContent !== said) live.textContent = said;
  };
  const update = () => {
    show();
    clearTimeout(pending);
    pending = setTimeout(announce, LIVE_DELAY);
  };

  if (product && quantity && text && total && live) {
    product.addEventListener("change", update);
    quantity.addEventListener("input", update);
    // A page shown again with an error keeps what was typed: its amount shows at once, and is read with the page.
    if (product.value && quantity.value) {
      show();
      live.textContent = [text.textContent, total.textContent].filter(Boolean).join(". ");
    }
  }
}

// The same reading and writing of French amounts, for the instruction's « Accepter » page (static/instruction/accept.js).
export { euros, parseDecimal, toCents };
