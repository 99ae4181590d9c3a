// "/": go to the inbox with a session in this browser, else to the login page.

import { session } from "./api.js";

const s = session();
location.replace(s && s.refreshToken ? "/inbox" : "/login");
