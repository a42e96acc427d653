// The live dashboard (lesson 10): placeholder until site/server/dashboard.ts serves it.

const app = document.querySelector<HTMLElement>("#app")!;
app.textContent = "Start the cluster with npm start and open the address it prints.";
