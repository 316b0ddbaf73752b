import { render } from "preact";
import { App } from "./app";
import { startClock } from "./stores/clock";
import { startDesk } from "./stores/desk";
import { t } from "./locale";
import "./styles.css";

document.title = t.appTitle;
startClock();
startDesk();
render(<App />, document.getElementById("app")!);
