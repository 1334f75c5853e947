// Progressive help only: « Accepter » shows the granted total as the instructor types each line's amount; the
// server checks every amount and computes the total it records.
//
// The amounts are read as the server reads them (a French decimal, two decimals at most) and added in cents, as
// whole numbers. A line whose amount cannot be read leaves the total unknown, and the page says so. Screen readers
// hear the total once typing pauses (LIVE_DELAY), from a hidden copy.

import { euros, parseDecimal, toCents } from "../refunds/refunds.js";

const LIVE_DELAY = 600; // milliseconds after the last key
const form = document.querySelector("[data-accept]");
const region = form && form.querySelector("[data-granted-total]");

if (form && region) {
  const fields = [...form.querySelectorAll("input[name^=granted_]")];
  const text = region.querySelector("[data-granted-total-text]");
  const live = region.querySelector("[data-granted-total-live]");
  const asked = region.dataset.asked;

  const show = () => {
    const amounts = fields.map((field) => parseDecimal(field.value, 10, 2));
    text.textContent = amounts.includes(null)
      ? "Montant accordé : un montant saisi n'est pas lisible, corrigez-le pour voir le total."
      : `Montant accordé : ${euros(amounts.reduce((sum, amount) => sum + toCents(amount), 0n))} sur ${asked} demandés.`;
  };

  let pending = null;
  const update = () => {
    show();
    clearTimeout(pending);
    pending = setTimeout(() => {
      if (live.textContent !== text.textContent) live.textContent = text.textContent;
    }, LIVE_DELAY);
  };

  fields.forEach((field) => field.addEventListener("input", update));
  region.hidden = false;
  show();
}
