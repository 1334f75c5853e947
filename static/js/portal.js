// Progressive help only: every rule is enforced by the server.

// The error summary takes the focus, so that screen readers announce it first.
const summary = document.querySelector("[data-error-summary]");
if (summary) {
  summary.focus();
}

// Captcha: « Nouvelle image » fetches a new challenge (image, audio and key).
for (const captcha of document.querySelectorAll("[data-captcha]")) {
  const button = captcha.querySelector("[data-captcha-refresh]");
  const form = captcha.closest("form");
  button.hidden = false;
  // Without an audio version, the answer box says so, and what to do instead.
  const noAudio = captcha.querySelector("[data-captcha-no-audio]");
  const answerBox = form.querySelector("input[name$='captcha_1']");
  if (noAudio && answerBox) {
    answerBox.setAttribute("aria-describedby", `${answerBox.getAttribute("aria-describedby") || ""} ${noAudio.id}`.trim());
  }
  button.addEventListener("click", async () => {
    const response = await fetch(captcha.dataset.refreshUrl, {
      headers: { "X-Requested-With": "XMLHttpRequest" },
    });
    if (!response.ok) return;
    const challenge = await response.json();
    form.querySelector("input[name$='captcha_0']").value = challenge.key;
    captcha.querySelector("[data-captcha-image]").src = challenge.image_url;
    const audio = captcha.querySelector("[data-captcha-audio]");
    if (audio && challenge.audio_url) audio.src = challenge.audio_url;
    const answer = form.querySelector("input[name$='captcha_1']");
    answer.value = "";
    answer.focus();
  });
}

// Password meter: the memento's rule (12 characters, 3 of 4 kinds), live, and « trop courant » as the
// server says it: the same lists (static/accounts/common-passwords.json, written with the server's) and
// the same comparison as accounts.validators.is_common. The password never leaves the browser for it.
const LEVELS = ["très faible", "faible", "moyen", "bon", "très bon"];
const LEET = { 0: "o", 1: "i", 3: "e", 4: "a", 5: "s", 7: "t", "@": "a", $: "s" };
// accounts.validators.password_stem: the padding of digits and signs taken off, case and leetspeak undone.
const passwordStem = (value) =>
  value
    .toLowerCase()
    .replace(/^[0-9!?*.@#$%&_\-+=/\\ ]+|[0-9!?*.@#$%&_\-+=/\\ ]+$/g, "")
    .replace(/[013457@$]/g, (character) => LEET[character]);
const password = document.querySelector("[data-password-meter]");
const meter = document.querySelector("[data-password-meter-output]");
if (password && meter) {
  meter.hidden = false;
  // The level and the rules are read with the field; the level is also announced as it changes.
  password.setAttribute("aria-describedby", `${password.getAttribute("aria-describedby") || ""} password-meter`.trim());
  // Until the lists arrive (or if they do not), the rule is not shown: the server still judges.
  let common = null;
  const rules = {
    length: (value) => value.length >= 12,
    upper: (value) => /\p{Lu}/u.test(value),
    lower: (value) => /\p{Ll}/u.test(value),
    digit: (value) => /\p{Nd}/u.test(value),
    special: (value) => /[^\p{L}\p{Nd}]/u.test(value),
    // Nothing typed is no password yet, common or not: the rule is met once there is one that is not.
    common: (value) =>
      value.length > 0 && !common.stems.has(passwordStem(value)) && !common.whole.has(value.toLowerCase().trim()),
  };
  const level = meter.querySelector("[data-password-meter-level]");
  const bar = meter.querySelector("[data-password-meter-bar]");
  const hint = meter.querySelector("[data-password-meter-hint]");
  const commonMessage = meter.querySelector("[data-password-meter-common]");
  const update = () => {
    const value = password.value;
    const met = {};
    for (const [name, test] of Object.entries(rules)) {
      if (name === "common" && !common) continue;
      met[name] = test(value);
      const rule = meter.querySelector(`[data-rule="${name}"]`);
      rule.hidden = false;
      rule.dataset.met = met[name];
      rule.querySelector("[data-rule-state]").textContent = met[name] ? " : respectée" : " : non respectée";
    }
    const kinds = ["upper", "lower", "digit", "special"].filter((name) => met[name]).length;
    let score = 0;
    if (value.length > 0) score = 1;
    if (met.length && kinds >= 3) score = 3;
    else if (value.length >= 8 && kinds >= 2) score = 2;
    if (score === 3 && (value.length >= 16 || kinds === 4)) score = 4;
    // One word padded with digits or signs (« Azerty123456! ») is what
    // guessers try first; the server refuses the common ones.
    const padded = /^[\p{L}]+[\p{Nd}\p{P}\p{S}\s]+$/u.test(value) || /^[\p{Nd}\p{P}\p{S}\s]+[\p{L}]+$/u.test(value);
    if (padded && score > 2) score = 2;
    // A common password is refused whatever its length and kinds: the meter does not call it « bon ».
    const tooCommon = value.length > 0 && met.common === false;
    if (tooCommon) score = Math.min(score, 1);
    commonMessage.hidden = !tooCommon;
    hint.hidden = tooCommon || !(padded && met.length);
    level.textContent = LEVELS[score];
    bar.dataset.level = score;
    bar.style.width = `${(score / 4) * 100}%`;
  };
  password.addEventListener("input", update);
  update();
  fetch(meter.dataset.commonPasswords)
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((lists) => {
      common = { stems: new Set(lists.stems), whole: new Set(lists.whole) };
      update();
    })
    .catch(() => {});
}

// BIC: proposed from the IBAN when the bank is known (left empty, the server deduces it the same way).
const bic = document.querySelector("[data-bic-from-iban]");
if (bic) {
  const form = bic.closest("form");
  const iban = form.querySelector("input[name='iban']");
  const status = form.querySelector("[data-bic-status]");
  iban.addEventListener("change", async () => {
    if (bic.value.trim() || !iban.value.trim()) return;
    const response = await fetch(bic.dataset.bicFromIban, {
      method: "POST",
      body: new URLSearchParams({ iban: iban.value }),
      headers: { "X-CSRFToken": form.querySelector("[name='csrfmiddlewaretoken']").value },
    });
    if (!response.ok) return;
    const proposed = (await response.json()).bic;
    if (proposed && !bic.value.trim()) {
      bic.value = proposed;
      status.textContent = `BIC proposé d'après l'IBAN : ${proposed}. Vérifiez qu'il figure sur votre RIB.`;
    }
  });
}

// « L'organisation est un centre de gestion agricole »: a centre has no category or PACAGE of its own.
const centre = document.querySelector("[data-centre-flag]");
if (centre) {
  const own = ["beneficiary_category", "pacage"].map((name) => centre.form.elements[name]);
  const follow = () => {
    for (const field of own) field.disabled = centre.checked;
  };
  centre.addEventListener("change", follow);
  follow();
}
