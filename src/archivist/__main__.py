from archivist.cli import main

raise SystemExit(main())
