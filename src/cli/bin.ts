#!/usr/bin/env node
// The fbreplay program: main() with the process's arguments, its result the exit status.
import { main } from "./main.js";

process.exitCode = await main(process.argv.slice(2));
