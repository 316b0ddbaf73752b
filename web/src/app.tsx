import { token } from "./stores/session";
import { LoginScreen } from "./features/login/LoginScreen";
import { Desk } from "./features/desk/Desk";

export function App() {
  return token.value ? <Desk /> : <LoginScreen />;
}
