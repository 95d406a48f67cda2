// The profile page's one script: it calls the demo API through the app's
// proxy at /api/. The app adds the access token on the server, so this page
// never sees a token. The X-Requested-With header marks the call as the
// page's own, which a cross-site form cannot send.
"use strict";

const button = document.getElementById("call-api");
const answer = document.getElementById("api-answer");

button.addEventListener("click", async () => {
  button.disabled = true;
  answer.className = "answer";
  answer.textContent = "Calling /api/hello …";
  try {
    const resp = await fetch("/api/hello", { headers: { "X-Requested-With": "fetch" } });
    const text = await resp.text();
    if (resp.ok) {
      answer.textContent = JSON.stringify(JSON.parse(text), null, 2);
      answer.classList.add("ok");
    } else {
      answer.textContent = `${resp.status} ${resp.statusText}: ${text.trim()}`;
      answer.classList.add("problem");
    }
  } catch (err) {
    answer.textContent = `The call failed: ${err.message}`;
    answer.classList.add("problem");
  } finally {
    button.disabled = false;
  }
});
