import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  require_dist_cjs
} from "./chunk-EKOQODMK.js";
import "./chunk-7O26Y255.js";
import "./chunk-Y65T7N5T.js";
export default require_dist_cjs();
